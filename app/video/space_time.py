"""A Kinetics network's listed layers on one clip, as (channels, time, height, width) maps, and its
logits, from one hook-free forward pass; and how far each layer's units see in space and time.

The extractor is torchvision's torch.fx rewrite of the network (as for the image CNNs), so
sessions sharing one cached network can capture at once. Swin3D keeps its channels last and MViT
its maps as a row of tokens after a class token; both are turned into the CNNs' layout here so
every figure reads one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torchvision.models.feature_extraction import create_feature_extractor

from app.cnn.receptive_field import ReceptiveField, output_receptive_fields
from app.serving.fx_threads import isolate_traces
from app.serving.model_lock import shared_use

isolate_traces()  # this module traces models with torch.fx while other threads run them

LOGITS = "logits"
# Attention mixes every token a window (Swin3D) or a pooled stage (MViT) holds: no kernel arithmetic
# traces how far a unit sees, so only the convolutional networks get a space-time field.
ATTENTION_NETWORKS = ("mvit_v2_s", "swin3d_t")


@dataclass(frozen=True)
class SpaceTimeField:
    """How far one unit sees along time (frames), height and width (pixels)."""

    time: ReceptiveField
    height: ReceptiveField
    width: ReceptiveField

    def box(self, t: int, row: int, col: int, frames: int, size: int) -> tuple[tuple[int, int], ...]:
        """((first frame, last frame + 1), (y0, y1), (x0, x1)) that unit (t, row, col) reads,
        clipped to a clip of `frames` frames of `size`² pixels (the padding lies outside)."""
        spans = []
        for field, index, extent in ((self.time, t, frames), (self.height, row, size), (self.width, col, size)):
            if field.is_global:
                spans.append((0, extent))
                continue
            centre, half = field.centre(index), field.size / 2
            spans.append((max(0, math.floor(centre - half)), min(extent, math.ceil(centre + half))))
        return tuple(spans)


@dataclass(frozen=True)
class SpaceTimeLayer:
    name: str
    shape: tuple[int, int, int, int]  # (C, T, H, W) on this clip length and frame size
    field: SpaceTimeField | None  # None for an attention network

    def describe(self) -> str:
        c, t, h, w = self.shape
        return f"{self.name} · {c} channels × {t} × {h}×{w}"


def _as_cthw(tensor: torch.Tensor, architecture: str, frames_out: int) -> torch.Tensor:
    """One clip's output of a layer as (C, T, H, W)."""
    if tensor.ndim == 2:  # MViT's tokens (N, C): the class token, then T × H × W positions
        tokens = tensor[1:]
        side = math.isqrt(tokens.shape[0] // frames_out)
        return tokens.T.reshape(tokens.shape[1], frames_out, side, side)
    if architecture == "swin3d_t":  # (T, H, W, C)
        return tensor.permute(3, 0, 1, 2)
    return tensor


class SpaceTimeExtractor:
    """Built once per loaded network and clip size; `capture` runs it."""

    def __init__(self, model: torch.nn.Module, architecture: str, layers: Sequence[str], frames: int,
                 size: int) -> None:
        return_nodes = {layer: layer for layer in layers} | {_last_node(model): LOGITS}
        self.model = model
        self.architecture = architecture
        self.device = next(model.parameters()).device
        self.graph_module = create_feature_extractor(model, return_nodes).eval()
        example = torch.zeros(1, 3, frames, size, size, device=self.device)
        # MViT's patch embedding halves the time axis, and its stages never pool time.
        self.token_frames = frames // model.conv_proj.stride[0] if architecture == "mvit_v2_s" else 0
        with shared_use(model), torch.inference_mode():
            shapes = {name: tuple(self.maps_of(t[0]).shape) for name, t in self.graph_module(example).items()
                      if name != LOGITS}
        fields = [None] * len(layers)
        if architecture not in ATTENTION_NETWORKS:
            by_axis = output_receptive_fields(self.graph_module, example, axes=(0, 1, 2))
            fields = [SpaceTimeField(*(axis[layer] for axis in by_axis)) for layer in layers]
        self.layers = tuple(SpaceTimeLayer(name, shapes[name], field) for name, field in zip(layers, fields))

    def maps_of(self, tensor: torch.Tensor) -> torch.Tensor:
        """One clip's output of a listed layer, in whatever layout the network keeps it, as (C, T, H, W)."""
        return _as_cthw(tensor, self.architecture, self.token_frames)

    def layer(self, name: str) -> SpaceTimeLayer:
        return next(info for info in self.layers if info.name == name)

    def capture(self, batch: torch.Tensor) -> Capture:
        """One forward of a (1, 3, T, S, S) clip; every listed layer and the logits, on the CPU."""
        with shared_use(self.model), torch.inference_mode():
            outputs = self.graph_module(batch.to(self.device))
        maps = {info.name: self.maps_of(outputs[info.name][0]).float().cpu() for info in self.layers}
        return Capture(maps, outputs[LOGITS][0].float().cpu())


@dataclass(frozen=True, eq=False)
class Capture:
    """One clip's maps; read-only by convention (cached and shared)."""

    maps: dict[str, torch.Tensor]  # layer -> (C, T, H, W) float32
    logits: torch.Tensor  # (400,)


def _last_node(model: torch.nn.Module) -> str:
    from torchvision.models.feature_extraction import get_graph_node_names

    return get_graph_node_names(model)[1][-1]


def kinetics_accuracy(architecture: str) -> tuple[float, float]:
    """(top-1, top-5) % on Kinetics-400's validation clips, as torchvision's weights record them."""
    from torchvision.models import get_model_weights

    metrics = get_model_weights(architecture).DEFAULT.meta["_metrics"]["Kinetics-400"]
    return metrics["acc@1"], metrics["acc@5"]
