"""The trained divided space-time network's own attention for one query patch: in its last block,
where the query looks across time (its place in every frame) and then across space (every patch
of its frame), averaged over the heads. The schemes tab draws which keys each scheme allows; this
shows how much weight a trained network puts on each of them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import torch

from app.figures.colormaps import apply_colormap
from app.figures.mosaic import tiled
from app.figures.palette import BLUE, ORANGE
from app.figures.plot_images import image_trace, picture_layout
from app.video.motion_models import DividedSpaceTime
from app.video.network_input import frame_indices

TILE = 144  # pixels per frame on screen: eight across a 1280 px projector
HEAT = "Inferno"
HEAT_OPACITY = 0.7  # at the most attended patch; less attended patches fade to the frame itself
GAP = 4


class QueryAttention(NamedTuple):
    time: np.ndarray  # (T,) the query's weights over its place in each frame
    space: np.ndarray  # (rows, cols) its weights over the patches of its frame


def query_attention(model: DividedSpaceTime, clips: torch.Tensor, query: tuple[int, int, int]) -> QueryAttention:
    """The last block's time and space attention of `query` (frame, row, column on the model's patch
    grid) for one clip (1, 1, T, H, W) as `clip_input` makes it, each averaged over the heads."""
    if clips.shape[0] != 1:
        raise ValueError(f"one clip at a time, not {clips.shape[0]}")
    t, row, col = query
    cols = clips.shape[-1] // model.patch
    with torch.inference_mode():
        tokens = model.tokens(clips)
        for block in model.blocks[:-1]:
            tokens = block(tokens)
        _, across_time, across_space = model.blocks[-1](tokens, need_weights=True)
    place = row * cols + col  # with one clip, the row of `across_time` of the query's place
    space = across_space[t, :, place].mean(dim=0)  # the row of the query's frame, its patch's query
    return QueryAttention(time=across_time[place, :, t].mean(dim=0).numpy(),
                          space=space.reshape(-1, cols).numpy())


def query_on_model_grid(query: tuple[int, int, int], frames: int, grid: tuple[int, int], model_frames: int,
                        model_grid: tuple[int, int]) -> tuple[int, int, int]:
    """A query (frame, row, column) on a view of `frames` frames of `grid` patches → the model's
    (`model_frames` of `model_grid`) on the same centre square: the model frame picked nearest
    the query's (the model takes `model_frames` of the view's frames evenly spaced, as
    `moving_fashion.view_indices`), and the model patch under the query patch's centre."""
    t, row, col = query
    picked = frame_indices(frames, model_frames)
    return (int(np.argmin(np.abs(picked - t))), (2 * row + 1) * model_grid[0] // (2 * grid[0]),
            (2 * col + 1) * model_grid[1] // (2 * grid[1]))


def cell_edges(pixels: int, cells: int) -> np.ndarray:
    """(cells + 1,) pixel edges of a grid's cells over `pixels`, where pixel p lies in cell
    p · cells // pixels (as `tinted_cells` splits a frame)."""
    return -(-np.arange(cells + 1) * pixels // cells)


def heated(frame: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`frame` (H, W, 3) uint8 with each cell of the (rows, cols) `weights` grid tinted by its weight
    relative to the largest: the colormap's colour and opacity grow together, so an unattended
    patch keeps the frame's own pixels."""
    height, width = frame.shape[:2]
    rows, cols = weights.shape
    unit = weights / weights.max() if weights.max() > 0 else np.zeros_like(weights)
    cells = unit[np.arange(height) * rows // height][:, np.arange(width) * cols // width]
    alpha = HEAT_OPACITY * cells[..., None]
    return np.rint((1 - alpha) * frame + alpha * apply_colormap(cells, HEAT)).astype(np.uint8)


def attention_figure(frames_view: np.ndarray, time_weights: np.ndarray, space_weights: np.ndarray,
                     query: tuple[int, int, int]) -> go.Figure:
    """The model's frames (T, H, W) grey or (T, H, W, 3) as a strip, each with its time-attention
    weight above it; the query's place outlined in every frame (the keys of time attention, in
    orange as in the schemes figure), the query blue, and its frame heated by the space attention."""
    rgb = frames_view if frames_view.ndim == 4 else np.repeat(frames_view[..., None], 3, axis=-1)
    scale = max(1, TILE // rgb.shape[1])
    tiles = np.stack([heated(frame, space_weights) if t == query[0] else frame for t, frame in enumerate(rgb)])
    strip = tiled(tiles.repeat(scale, axis=1).repeat(scale, axis=2), cols=len(tiles), gap=GAP)
    height, width = strip.tile_shape
    pitch = width + GAP
    figure = picture_layout(go.Figure(image_trace(strip.rgb, "frames")), strip.rgb.shape[1], strip.rgb.shape[0])
    rows, cols = space_weights.shape
    top, bottom = cell_edges(height, rows)[query[1]: query[1] + 2]
    left, right = cell_edges(width, cols)[query[2]: query[2] + 2]
    for t in range(len(tiles)):
        colour = BLUE if t == query[0] else ORANGE
        figure.add_shape(type="rect", x0=t * pitch + left, x1=t * pitch + right, y0=top, y1=bottom,
                         line=dict(color=colour, width=3))
    figure.update_xaxes(visible=True, side="top", showgrid=False, zeroline=False, showline=False, ticks="",
                        tickvals=[t * pitch + width / 2 for t in range(len(tiles))],
                        ticktext=[f"frame {t + 1}{' (query)' if t == query[0] else ''}<br>{weight:.0%}"
                                  for t, weight in enumerate(time_weights)], tickfont=dict(size=15))
    figure.update_layout(margin=dict(l=0, r=0, t=60, b=0),
                         height=60 + round(800 * strip.rgb.shape[0] / strip.rgb.shape[1]))
    return figure
