"""Every listed layer of a CNN, and its logits, from one hook-free forward pass.

The extractor is a torch.fx rewrite of the model that returns the chosen
intermediate tensors (torchvision's `create_feature_extractor`, timm's for timm
models). It shares the model's weights and registers no hooks, so sessions that
share one cached model can capture at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx

from app.cnn.receptive_field import ReceptiveField, output_receptive_fields
from app.serving.model_lock import shared_use

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

    activations: dict[str, torch.Tensor]  # layer -> (C, H, W) or (C,), float32 on the CPU
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
        if framework == "timm":
            from timm.models import create_feature_extractor
        else:
            from torchvision.models.feature_extraction import create_feature_extractor
        return_nodes = {layer: layer for layer in layers}
        if with_logits:
            return_nodes[_graph_node_names(model, framework)[-1]] = LOGITS
        self.model = model
        self.device = next(model.parameters()).device
        self.graph_module: fx.GraphModule = create_feature_extractor(model, return_nodes).eval()
        example = torch.zeros(1, 3, input_size, input_size, device=self.device)
        [fields] = output_receptive_fields(self.graph_module, example)
        with shared_use(model), torch.inference_mode():
            shapes = {name: tuple(t.shape[1:]) for name, t in self.graph_module(example).items()}
        self.layers = tuple(
            LayerInfo(name, _per_image_shape(shapes[name]), fields[name]) for name in layers
        )

    def layer(self, name: str) -> LayerInfo:
        return next(info for info in self.layers if info.name == name)


def _per_image_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    # (C, 1, 1) after global pooling is a vector of C numbers.
    return shape[:1] if len(shape) == 3 and shape[1] == shape[2] == 1 else shape


def capture_activations(extractor: FeatureExtractor, batch: torch.Tensor) -> Capture:
    """One forward of a (1, 3, S, S) batch; every listed layer and the logits, on the CPU."""
    with shared_use(extractor.model), torch.inference_mode():
        outputs = extractor.graph_module(batch.to(extractor.device))
    activations = {}
    for info in extractor.layers:
        tensor = outputs[info.name][0].float().cpu()
        activations[info.name] = tensor.reshape(_per_image_shape(tuple(tensor.shape)))
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
