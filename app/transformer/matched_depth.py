"""Four families on one image at the same relative depth: where each one's response sits.

A CNN's and a Swin's stage give feature maps, read here as each position's feature norm; a
ViT's and DINO's block give attention, read as the CLS token's attention over the patches
(heads averaged). The maps differ in size and meaning, so they are compared by where their mass
sits: the share held by their strongest tenth, the peak, and how far two maps' strongest
regions overlap once both are resampled to one grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

DEPTHS = (25, 50, 75, 100)
COMMON_GRID = 28  # both maps bilinearly resampled to this many positions a side before comparing


def layer_at(percent: int, count: int) -> int:
    """The layer (from 1) at `percent` of a network's `count` layers, rounded up: 25 % of 12
    blocks is block 3, 100 % the last."""
    if not 0 < percent <= 100 or count < 1:
        raise ValueError(f"{percent} % of {count} layers is not a layer")
    return max(1, math.ceil(percent * count / 100))


def feature_norm(features: torch.Tensor) -> np.ndarray:
    """(C, H, W) → (H, W): each position's L2 norm over the channels."""
    return torch.linalg.vector_norm(features.float(), dim=0).numpy()


@dataclass(frozen=True)
class Concentration:
    top_share: float  # share of the map's total held by its strongest 10 % of positions
    peak: tuple[int, int]  # (row, col) of the maximum, on the map's own grid
    peak_fraction: tuple[float, float]  # the peak's centre as a fraction of the height and width


def concentration(values: np.ndarray, top: float = 0.1) -> Concentration:
    """Where a non-negative (h, w) map's mass sits."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if (flat < 0).any():
        raise ValueError("concentration reads non-negative maps")
    total = flat.sum()
    count = max(1, round(top * flat.size))
    share = float(np.sort(flat)[::-1][:count].sum() / total) if total > 0 else 0.0
    row, col = np.unravel_index(int(np.argmax(flat)), values.shape)
    return Concentration(share, (int(row), int(col)),
                         ((row + 0.5) / values.shape[0], (col + 0.5) / values.shape[1]))


def where(fraction: tuple[float, float]) -> str:
    """A position in words: 'top left', 'centre', 'bottom right', …"""
    vertical = ("top", "middle", "bottom")[min(2, int(fraction[0] * 3))]
    horizontal = ("left", "centre", "right")[min(2, int(fraction[1] * 3))]
    if vertical == "middle":
        return "centre" if horizontal == "centre" else f"middle {horizontal}"
    return f"{vertical} {horizontal}" if horizontal != "centre" else f"{vertical} centre"


def on_common_grid(values: np.ndarray, side: int = COMMON_GRID) -> np.ndarray:
    tensor = torch.as_tensor(np.asarray(values, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=(side, side), mode="bilinear", align_corners=False)[0, 0].numpy()


def strongest_region(values: np.ndarray, share: float = 0.2) -> np.ndarray:
    """Boolean: the `share` of positions with the largest values (on the common grid)."""
    resampled = on_common_grid(values).reshape(-1)
    kept = np.zeros(resampled.size, dtype=bool)
    kept[np.argsort(resampled)[::-1][: max(1, round(share * resampled.size))]] = True
    return kept.reshape(COMMON_GRID, COMMON_GRID)


def region_overlap(a: np.ndarray, b: np.ndarray, share: float = 0.2) -> float:
    """Intersection over union of two maps' strongest `share` of positions."""
    first, second = strongest_region(a, share), strongest_region(b, share)
    return float((first & second).sum() / (first | second).sum())
