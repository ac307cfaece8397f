"""Pictures tiled into one image (one trace for the browser, not hundreds): the one tiling every
grid of pictures uses (channels, heads, windows, filters, captioned images)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.figures.colormaps import apply_colormap, normalise

GAP = 1  # pixels of background between tiles
_BACKGROUND = 255


@dataclass(frozen=True, eq=False)
class Mosaic:
    rgb: np.ndarray  # (rows·(tile_h+gap), cols·(tile_w+gap), 3) uint8
    channels: np.ndarray  # (rows, cols) channel index of each tile, -1 where empty
    tile_shape: tuple[int, int]  # (tile_h, tile_w) in pixels, without the gap

    @property
    def pitch(self) -> tuple[int, int]:
        """Pixels from one tile's corner to the next, down and across."""
        return self.tile_shape[0] + GAP, self.tile_shape[1] + GAP


def tiled(tiles: np.ndarray, labels: Sequence[int] | None = None, cols: int | None = None, gap: int = GAP,
          cell: tuple[int, int] | None = None) -> Mosaic:
    """(N, h, w, 3) uint8 pictures in rows of `cols` (an about square grid when not given), on
    white. Each sits in a cell of its size plus `gap`, or of `cell` (height, width) pixels, at
    the top and centred across; `labels` (default 0…N−1) name the tiles in `Mosaic.channels`."""
    count, height, width = tiles.shape[:3]
    cols = cols or math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    pitch_h, pitch_w = cell or (height + gap, width + gap)
    across = (pitch_w - width) // 2 if cell else 0
    canvas = np.full((rows * pitch_h, cols * pitch_w, 3), _BACKGROUND, np.uint8)
    grid = np.full((rows, cols), -1, dtype=np.int64)
    for position, (label, picture) in enumerate(zip(range(count) if labels is None else labels, tiles)):
        row, col = divmod(position, cols)
        top, left = row * pitch_h, col * pitch_w + across
        canvas[top: top + height, left: left + width] = picture
        grid[row, col] = label
    return Mosaic(rgb=canvas, channels=grid, tile_shape=(height, width))


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
    tile = max(1, min(height, (max_side - cols * GAP) // cols))
    if tile < height:
        maps = F.adaptive_avg_pool2d(maps[None], (tile, round(tile * width / height)))[0]
    values = maps.numpy()
    if shared_scale:
        unit = normalise(values, float(activation.min()), float(activation.max()))
    else:
        low = values.min(axis=(1, 2), keepdims=True)
        span = values.max(axis=(1, 2), keepdims=True) - low
        unit = np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0).astype(np.float32)
    return tiled(apply_colormap(unit, colormap), channels, cols)
