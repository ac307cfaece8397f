"""Every channel of a layer as one tiled image: one trace for the browser, not hundreds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.figures.colormaps import apply_colormap, normalise

_GAP = 1  # pixels of background between tiles
_BACKGROUND = 255


@dataclass(frozen=True, eq=False)
class Mosaic:
    rgb: np.ndarray  # (rows·(tile_h+gap), cols·(tile_w+gap), 3) uint8
    channels: np.ndarray  # (rows, cols) channel index of each tile, -1 where empty
    tile_shape: tuple[int, int]  # (tile_h, tile_w) in pixels, without the gap

    @property
    def pitch(self) -> tuple[int, int]:
        """Pixels from one tile's corner to the next, down and across."""
        return self.tile_shape[0] + _GAP, self.tile_shape[1] + _GAP


def channel_mosaic(
    activation: torch.Tensor,
    channels: Sequence[int],
    colormap: str = "Viridis",
    shared_scale: bool = False,
    max_side: int = 1024,
) -> Mosaic:
    """Tiles the chosen channels of a (C, H, W) activation, in the given order.

    Each tile is scaled to its own min–max, or (shared_scale) all tiles to the
    layer's, so tiles can be compared. Maps are shrunk (area-averaged) so the
    mosaic stays within `max_side` pixels across.
    """
    maps = activation[list(channels)]  # (N, H, W)
    count, height, width = maps.shape
    cols = math.ceil(math.sqrt(count * height / width))
    rows = math.ceil(count / cols)
    tile = max(1, min(height, (max_side - cols * _GAP) // cols))
    if tile < height:
        maps = F.adaptive_avg_pool2d(maps[None], (tile, round(tile * width / height)))[0]
    values = maps.numpy()
    if shared_scale:
        unit = normalise(values, float(activation.min()), float(activation.max()))
    else:
        low = values.min(axis=(1, 2), keepdims=True)
        span = values.max(axis=(1, 2), keepdims=True) - low
        unit = np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0).astype(np.float32)
    colored = apply_colormap(unit, colormap)  # (N, h, w, 3)
    tile_h, tile_w = colored.shape[1:3]
    canvas = np.full((rows * (tile_h + _GAP), cols * (tile_w + _GAP), 3), _BACKGROUND, np.uint8)
    grid = np.full((rows, cols), -1, dtype=np.int64)
    for position, (channel, image) in enumerate(zip(channels, colored)):
        row, col = divmod(position, cols)
        top, left = row * (tile_h + _GAP), col * (tile_w + _GAP)
        canvas[top: top + tile_h, left: left + tile_w] = image
        grid[row, col] = channel
    return Mosaic(rgb=canvas, channels=grid, tile_shape=(tile_h, tile_w))
