"""State-dict converters for checkpoints whose key names differ from the architecture's."""

from __future__ import annotations

import re

import torch

from pretrained.spec import StateDict


def remap_keys_by_order(state_dict: StateDict, model: torch.nn.Module) -> StateDict:
    """Renames keys position by position, refusing any shape mismatch.

    The efficientnet_pytorch checkpoint of EfficientNet-Lite0 lists its 296
    tensors in the same order and shapes as timm's `tf_efficientnet_lite0`, only
    under other names (`_conv_stem` for `conv_stem`, `_fc` for `classifier`).
    """
    target = model.state_dict()
    if len(state_dict) != len(target):
        raise ValueError(f"checkpoint has {len(state_dict)} tensors, the model {len(target)}")
    remapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(state_dict.items(), target.items()):
        if tensor.shape != expected.shape:
            raise ValueError(
                f"tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}"
            )
        remapped[dst_key] = tensor
    return remapped


# DenseNet checkpoints predate PyTorch's ban on dots in module names:
# 'denselayer1.norm.1.weight' is now 'denselayer1.norm1.weight' (torchvision's own fix).
_DENSENET_LEGACY_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def densenet_legacy_keys(state_dict: StateDict, model: torch.nn.Module) -> StateDict:
    converted = {}
    for key, tensor in state_dict.items():
        match = _DENSENET_LEGACY_KEY.match(key)
        converted[match.group(1) + match.group(2) if match else key] = tensor
    return converted


def drop_googlenet_aux_heads(state_dict: StateDict, model: torch.nn.Module) -> StateDict:
    """GoogLeNet's ImageNet checkpoint carries the two training-only auxiliary heads."""
    return {k: v for k, v in state_dict.items() if not k.startswith(("aux1.", "aux2."))}


# transformers 5 renamed DETR's modules; the published checkpoints keep the old names. The
# renames are the ones transformers itself applies when it loads them (its conversion_mapping).
_DETR_RENAMES = (
    (re.compile(r"backbone\.conv_encoder\."), "backbone."),
    (re.compile(r"\.out_proj\."), ".o_proj."),
    (re.compile(r"(layers\.\d+)\.(fc[12])\."), r"\1.mlp.\2."),
)


def detr_published_keys(state_dict: StateDict, model: torch.nn.Module) -> StateDict:
    converted = {}
    for key, tensor in state_dict.items():
        for pattern, replacement in _DETR_RENAMES:
            key = pattern.sub(replacement, key)
        converted[key] = tensor
    return converted


def fill_batch_norm_counters(state_dict: StateDict, model: torch.nn.Module) -> StateDict:
    """Adds the batch norms' `num_batches_tracked` counters a checkpoint may leave out (they
    only count training steps; evaluation never reads them), so the load can stay strict."""
    missing = {key: torch.tensor(0) for key in model.state_dict()
               if key.endswith("num_batches_tracked") and key not in state_dict}
    return {**state_dict, **missing}
