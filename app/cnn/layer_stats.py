"""Summary numbers of one layer's activations, and the order to show its channels in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

ChannelOrder = Literal["index", "mean", "max"]


@dataclass(frozen=True)
class LayerStats:
    mean: float
    std: float
    minimum: float
    maximum: float
    zero_fraction: float  # exactly zero: what a ReLU switched off
    negative_fraction: float
    counts: np.ndarray  # histogram
    edges: np.ndarray  # len(counts) + 1 bin edges


def layer_stats(activation: torch.Tensor, bins: int = 60) -> LayerStats:
    values = activation.reshape(-1).numpy()
    counts, edges = np.histogram(values, bins=bins)
    return LayerStats(
        mean=float(values.mean()),
        std=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        zero_fraction=float((values == 0).mean()),
        negative_fraction=float((values < 0).mean()),
        counts=counts,
        edges=edges,
    )


def channel_order(activation: torch.Tensor, by: ChannelOrder = "index") -> np.ndarray:
    """Channel indices of a (C, H, W) or (C,) activation, strongest first unless by index."""
    channels = activation.shape[0]
    if by == "index":
        return np.arange(channels)
    flat = activation.reshape(channels, -1)
    score = flat.mean(dim=1) if by == "mean" else flat.amax(dim=1)
    return torch.argsort(score, descending=True, stable=True).numpy()


def strongest_unit(channel_map: torch.Tensor) -> tuple[int, int]:
    """(row, col) of the largest value of an (H, W) map."""
    index = int(torch.argmax(channel_map))
    return divmod(index, channel_map.shape[1])
