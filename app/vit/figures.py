"""Figures for ViT attention: per-head maps over the picture, the patch grid to
click on, and attention distance against depth."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from app.figures.colormaps import apply_colormap, normalise
from app.figures.mosaic import GAP, Mosaic, tiled
from app.figures.palette import PALETTE
from app.figures.plot_images import resized_view


def head_maps_mosaic(view: np.ndarray, maps: torch.Tensor, colormap: str = "Inferno", alpha: float = 0.7,
                     smooth: bool = False, masks: torch.Tensor | None = None, max_side: int = 1024) -> Mosaic:
    """One tile per head: the picture with that head's (h, w) map blended over it, each
    pixel's opacity growing with the map's value (its minimum leaves the photo as it is),
    or, given boolean `masks`, the picture kept where the mask is on and dimmed elsewhere."""
    heads = maps.shape[0]
    cols = math.ceil(math.sqrt(heads))
    tile = min(448, (max_side - cols * GAP) // cols)  # small inputs (28 px) are enlarged too
    picture = resized_view(view, tile, tile)
    mode = "bilinear" if smooth else "nearest"
    upsampled = F.interpolate(maps[:, None].float(), size=(tile, tile), mode=mode)[:, 0].numpy()
    tiles = []
    for head in range(heads):
        if masks is not None:
            keep = F.interpolate(masks[head][None, None].float(), size=(tile, tile), mode=mode)[0, 0].numpy()
            blended = picture * (0.15 + 0.85 * keep[..., None])
        else:
            values = upsampled[head]
            unit = normalise(values, float(values.min()), float(values.max()))
            weight = alpha * unit[..., None]
            blended = (1 - weight) * picture + weight * apply_colormap(unit, colormap)
        tiles.append(np.clip(np.rint(blended), 0, 255).astype(np.uint8))
    return tiled(np.stack(tiles), cols=cols)


_MARK = (255, 225, 0)  # yellow with a black edge: visible on light and dark photos alike
_EDGE = (0, 0, 0)


def patch_grid_picture(view: np.ndarray, grid: tuple[int, int], marked: tuple[int, int] | None,
                       side: int = 448) -> np.ndarray:
    """The picture enlarged to `side` px across (its height in proportion) with the patch grid
    drawn and one patch marked."""
    height = round(side * view.shape[0] / view.shape[1])
    picture = np.clip(np.rint(resized_view(view, height, side)), 0, 255).astype(np.uint8)
    rows, cols = grid
    for r in range(1, rows):
        picture[round(r * height / rows), :] = (picture[round(r * height / rows), :] * 0.5 + 127).astype(np.uint8)
    for c in range(1, cols):
        picture[:, round(c * side / cols)] = (picture[:, round(c * side / cols)] * 0.5 + 127).astype(np.uint8)
    if marked is not None:
        r, c = marked
        _mark_patch(picture, (round(r * height / rows), round((r + 1) * height / rows)),
                    (round(c * side / cols), round((c + 1) * side / cols)))
    return picture


def _mark_patch(picture: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> None:
    """A thick frame just outside the patch plus four arms pointing at it, in a size set by
    the picture, not by the patch: a 9 px patch of a 40 × 40 grid is as easy to find as a
    large one. The patch itself is left untouched, so one still sees what it holds."""
    side = min(picture.shape[:2])
    ring, arm = max(3, side // 110), max(12, side // 14)
    (top, bottom), (left, right) = rows, cols
    middle_row, middle_col = (top + bottom) // 2, (left + right) // 2
    mark = np.zeros(picture.shape[:2], bool)

    def paint(r0: int, r1: int, c0: int, c1: int) -> None:
        mark[max(r0, 0): max(r1, 0), max(c0, 0): max(c1, 0)] = True

    paint(top - ring, bottom + ring, left - ring, right + ring)
    half = ring // 2 + 1
    paint(top - ring - arm, top - ring, middle_col - half, middle_col + half)
    paint(bottom + ring, bottom + ring + arm, middle_col - half, middle_col + half)
    paint(middle_row - half, middle_row + half, left - ring - arm, left - ring)
    paint(middle_row - half, middle_row + half, right + ring, right + ring + arm)
    mark[top:bottom, left:right] = False
    edge = F.max_pool2d(torch.from_numpy(mark)[None, None].float(), 5, stride=1, padding=2)[0, 0].numpy() > 0
    edge &= ~mark
    edge[top:bottom, left:right] = False
    picture[edge] = _EDGE
    picture[mark] = _MARK


def patch_at(x: float, y: float, width: float, height: float, grid: tuple[int, int]) -> tuple[int, int]:
    """The (row, col) of the patch under a click at (x, y) on a picture shown width × height."""
    row = min(grid[0] - 1, max(0, int(y / height * grid[0])))
    col = min(grid[1] - 1, max(0, int(x / width * grid[1])))
    return row, col


def attention_distance_figure(distances: dict[str, torch.Tensor], max_distance: float | None = None) -> go.Figure:
    """Mean attention distance (pixels) of every head against depth, one colour per model."""
    figure = go.Figure()
    symbols = ["circle", "diamond", "square", "triangle-up"]
    colors = list(PALETTE[:4])
    for index, (name, values) in enumerate(distances.items()):
        layers, heads = values.shape
        depth = torch.arange(1, layers + 1).repeat_interleave(heads).float()
        jitter = (torch.arange(heads).repeat(layers).float() / max(heads - 1, 1) - 0.5) * 0.3
        offset = (index - (len(distances) - 1) / 2) * 0.35
        figure.add_trace(go.Scatter(
            x=(depth + jitter + offset).tolist(), y=values.reshape(-1).tolist(), mode="markers", name=name,
            marker=dict(symbol=symbols[index % 4], color=colors[index % 4], size=8, opacity=0.8),
            customdata=np.stack([depth.numpy(), np.tile(np.arange(heads), layers)], axis=1),
            hovertemplate=f"{name}<br>layer %{{customdata[0]:.0f}}, head %{{customdata[1]}}: %{{y:.0f}} px<extra></extra>",
        ))
    figure.update_layout(
        height=380, margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=1.1),
        xaxis=dict(title="network depth (layer)", dtick=1),
        yaxis=dict(title="mean attention distance (px)", rangemode="tozero",
                   range=[0, max_distance] if max_distance else None),
    )
    return figure
