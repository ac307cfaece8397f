"""Every listed layer of a CNN, and its logits, from one hook-free forward pass.

The extractor is a torch.fx rewrite of the model that returns the chosen
intermediate tensors (torchvision's `create_feature_extractor`, timm's for timm
models), or for transformers' CvT the stage outputs it returns itself. It shares
the model's weights and registers no hooks, so sessions that share one cached
model can capture at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx

from app.cnn.receptive_field import ReceptiveField, measured_receptive_fields, output_receptive_fields
from app.cnn.stage_outputs import CvtStageOutputs
from app.serving.fx_threads import isolate_traces
from app.serving.model_lock import shared_use

isolate_traces()  # this module traces models with torch.fx while other threads run them

LOGITS = "logits"


@dataclass(frozen=True)
class LayerInfo:
    name: str
    shape: tuple[int, ...]  # per image: (C, H, W), or (C,) for a vector
    receptive_field: ReceptiveField

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def is_spatial(self) -> bool:
        return len(self.shape) == 3 and self.shape[1] * self.shape[2] > 1

    def describe(self) -> str:
        """e.g. 'layer2.1 · 512×28×28 · RF 59 px'."""
        shape = "×".join(str(n) for n in self.shape)
        rf = "whole image" if self.receptive_field.is_global else f"RF {self.receptive_field.size} px"
        return f"{self.name} · {shape} · {rf}"


@dataclass(frozen=True, eq=False)
class Capture:
    """One image's activations; read-only by convention (cached and shared)."""

    # layer -> (C, H, W) or (C,), float32 on the CPU; an MLP-Mixer's N tokens as a √N×√N map
    activations: dict[str, torch.Tensor]
    logits: torch.Tensor | None  # (num_classes,), None for a model without a classifier


def _graph_node_names(model: torch.nn.Module, framework: str) -> list[str]:
    if framework == "timm":
        from timm.models import get_graph_node_names
    else:
        from torchvision.models.feature_extraction import get_graph_node_names
    return get_graph_node_names(model)[1]


class FeatureExtractor:
    """Built once per loaded model; `capture_activations` runs it."""

    def __init__(
        self,
        model: torch.nn.Module,
        layers: Sequence[str],
        framework: str,
        input_size: int,
        with_logits: bool = True,
    ) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        example = torch.zeros(1, 3, input_size, input_size, device=self.device)
        # `outputs` maps a batch to {layer: tensor, LOGITS: logits}.
        if framework == "transformers":  # CvT: its own stage outputs; fields measured by gradients
            self.outputs: torch.nn.Module = CvtStageOutputs(model, layers, LOGITS if with_logits else None)
            with shared_use(model):
                fields = measured_receptive_fields(self.outputs, example, layers)
        else:
            self.outputs = _fx_outputs(model, layers, framework, with_logits)
            [fields] = output_receptive_fields(self.outputs, example)
        with shared_use(model), torch.inference_mode():
            shapes = {name: tuple(_as_map(t[0]).shape) for name, t in self.outputs(example).items()}
        self.layers = tuple(LayerInfo(name, shapes[name], fields[name]) for name in layers)

    def layer(self, name: str) -> LayerInfo:
        return next(info for info in self.layers if info.name == name)


def _fx_outputs(model: torch.nn.Module, layers: Sequence[str], framework: str, with_logits: bool) -> fx.GraphModule:
    if framework == "timm":
        from timm.models import create_feature_extractor
    else:
        from torchvision.models.feature_extraction import create_feature_extractor
    return_nodes = {layer: layer for layer in layers}
    if with_logits:
        return_nodes[_graph_node_names(model, framework)[-1]] = LOGITS
    return create_feature_extractor(model, return_nodes).eval()


def _as_map(tensor: torch.Tensor) -> torch.Tensor:
    """One image's output as the pages read it: (C, 1, 1) after global pooling is a vector
    of C numbers; a sequence of N tokens of C features (an MLP-Mixer's square grid of
    patches, row by row) is C maps of √N × √N, as the patches lay in the image."""
    if tensor.dim() == 3 and tensor.shape[1] == tensor.shape[2] == 1:
        return tensor.reshape(tensor.shape[0])
    if tensor.dim() == 2 and tensor.shape[0] > 1 and (side := math.isqrt(tensor.shape[0])) ** 2 == tensor.shape[0]:
        return tensor.transpose(0, 1).reshape(tensor.shape[1], side, side)
    return tensor


def capture_activations(extractor: FeatureExtractor, batch: torch.Tensor) -> Capture:
    """One forward of a (1, 3, S, S) batch; every listed layer and the logits, on the CPU."""
    with shared_use(extractor.model), torch.inference_mode():
        outputs = extractor.outputs(batch.to(extractor.device))
    activations = {}
    for info in extractor.layers:
        activations[info.name] = _as_map(outputs[info.name][0].float().cpu())
    logits = outputs.get(LOGITS)
    return Capture(activations, None if logits is None else logits[0].float().cpu())


def first_conv_filters(model: torch.nn.Module) -> np.ndarray | None:
    """The first convolution on RGB input as (N, k, k, 3) in [0, 1], each filter
    stretched to its own range so its colour pattern is visible; None if absent."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d) and module.in_channels == 3:
            weights = module.weight.detach().float().cpu().permute(0, 2, 3, 1).numpy()  # (N, k, k, 3)
            low = weights.min(axis=(1, 2, 3), keepdims=True)
            high = weights.max(axis=(1, 2, 3), keepdims=True)
            return (weights - low) / np.maximum(high - low, 1e-12)
    return None
