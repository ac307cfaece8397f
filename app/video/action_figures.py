"""Figures of a Kinetics network on a clip: its maps across time, the part of the clip one unit
reads, and Grad-CAM over the frames. Each is one picture (one image trace), so that it draws in
milliseconds: the frames are drawn on here and shown with `plot_images.labelled_tiles`."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from app.figures.colormaps import apply_colormap
from app.figures.mosaic import tiled
from app.figures.plot_images import image_trace, picture_layout

BOX_COLOUR = np.array([255, 60, 40], np.uint8)
FADED = 0.25  # a frame the unit does not read keeps this much of its contrast


def field_frames(view: np.ndarray, box: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The clip's frames with the unit's box drawn on those it reads, the others faded."""
    (t0, t1), (y0, y1), (x0, x1) = box
    out = view.copy()
    faded = np.ones(len(view), bool)
    faded[t0:t1] = False
    out[faded] = (255 - FADED * (255 - out[faded].astype(np.float32))).astype(np.uint8)
    line = max(1, view.shape[1] // 56)
    for frame in out[t0:t1]:
        frame[y0:y1, x0:x0 + line] = frame[y0:y1, x1 - line:x1] = BOX_COLOUR
        frame[y0:y0 + line, x0:x1] = frame[y1 - line:y1, x0:x1] = BOX_COLOUR
    return out


def cam_frames(view: np.ndarray, cam: torch.Tensor, opacity: float = 0.6) -> np.ndarray:
    """The frames with Grad-CAM (frames, S, S) laid over them on one scale for the whole clip,
    so a frame that matters less is also fainter."""
    peak = float(cam.max())
    unit = (cam / peak).numpy() if peak > 0 else np.zeros(cam.shape, np.float32)
    colours = apply_colormap(unit, "Inferno").astype(np.float32)
    alpha = opacity * unit[..., None]
    return np.rint(view * (1 - alpha) + colours * alpha).astype(np.uint8)


def time_mosaic(maps: torch.Tensor, channels: list[int], tile: int = 96) -> np.ndarray:
    """(C, T, H, W) maps -> one picture: a row per chosen channel, a column per time step, each
    channel on its own scale over all its time steps (so its change across time shows)."""
    picked = maps[channels]  # (K, T, H, W)
    count, steps, height, width = picked.shape
    if height > tile:  # area-averaged, the feature page's rule for large maps
        picked = F.adaptive_avg_pool3d(picked[None], (steps, tile, tile))[0]
    values = picked.numpy()
    low = values.min(axis=(1, 2, 3), keepdims=True)
    span = values.max(axis=(1, 2, 3), keepdims=True) - low
    unit = np.where(span > 0, (values - low) / np.where(span > 0, span, 1), 0)
    tiles = apply_colormap(unit.reshape(count * steps, *unit.shape[2:]), "Viridis")
    if tiles.shape[1] < 48:  # a 7×7 map drawn as blocks, not blurred by the browser
        repeat = -(-48 // tiles.shape[1])
        tiles = tiles.repeat(repeat, axis=1).repeat(repeat, axis=2)
    return tiled(tiles, cols=steps, gap=2).rgb


def time_mosaic_figure(picture: np.ndarray, channels: list[int], steps: int, frame_of_step: list[str]) -> go.Figure:
    """The mosaic with its rows named by channel and its columns by the frames each step covers."""
    height, width = picture.shape[:2]
    figure = picture_layout(go.Figure(image_trace(picture, "maps")), width, height)
    pitch_h, pitch_w = height / len(channels), width / steps
    figure.update_xaxes(visible=True, side="top", showgrid=False, zeroline=False, showline=False, ticks="",
                        tickvals=[(i + 0.5) * pitch_w for i in range(steps)], ticktext=frame_of_step,
                        tickfont=dict(size=14))
    figure.update_yaxes(visible=True, showgrid=False, zeroline=False, showline=False, ticks="",
                        tickvals=[(i + 0.5) * pitch_h for i in range(len(channels))],
                        ticktext=[f"ch {c}" for c in channels], tickfont=dict(size=15))
    figure.update_layout(margin=dict(l=60, r=0, t=40, b=0), height=40 + round(760 * height / width))
    return figure


def frame_share_figure(shares: np.ndarray) -> go.Figure:
    """Bars: each frame's share of the whole clip's Grad-CAM."""
    figure = go.Figure(go.Bar(x=np.arange(1, len(shares) + 1), y=shares, marker_color="rgb(190,60,40)",
                              hovertemplate="frame %{x}: %{y:.1%}<extra></extra>"))
    figure.update_layout(xaxis=dict(title="frame", dtick=1), yaxis=dict(title="share of Grad-CAM", tickformat=".0%"),
                         height=260, margin=dict(l=10, r=10, t=10, b=40), font=dict(size=15))
    return figure
