"""Plotly figures of a CNN's activations: mosaic, statistics, depth, filters.
(A channel enlarged over the image is app.figures.overlays.map_overlay_figure.)"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from app.cnn.capture import LayerInfo
from app.cnn.layer_stats import LayerStats
from app.figures.mosaic import Mosaic, tiled
from app.figures.palette import BLUE, GREEN, ORANGE, RED
from app.figures.plot_images import image_trace, picture_layout


def mosaic_figure(mosaic: Mosaic, title: str | None = None, height: int = 640, tile_name: str = "channel",
                  expected_width: int = 760) -> go.Figure:
    """The mosaic as one PNG, with an invisible grid on top naming the tile under the cursor.
    A wide mosaic gets a lower figure, so that at `expected_width` px it is not cut off."""
    rows, cols = mosaic.channels.shape
    pitch_h, pitch_w = mosaic.pitch
    height = min(height, round(expected_width * rows * pitch_h / (cols * pitch_w)) + (36 if title else 0))
    figure = go.Figure(image_trace(mosaic.rgb, "channels"))
    names = np.where(mosaic.channels >= 0, mosaic.channels, np.nan)
    figure.add_trace(
        go.Heatmap(
            z=names, x=(np.arange(cols) + 0.5) * pitch_w, y=(np.arange(rows) + 0.5) * pitch_h,
            opacity=0, showscale=False, hovertemplate=f"{tile_name} %{{z}}<extra></extra>", hoverongaps=False,
        )
    )
    return picture_layout(figure, cols * pitch_w, rows * pitch_h, title, height)


def histogram_figure(stats: LayerStats, log_counts: bool = True, title: str | None = None) -> go.Figure:
    centres = (stats.edges[:-1] + stats.edges[1:]) / 2
    figure = go.Figure(
        go.Bar(x=centres, y=stats.counts, width=np.diff(stats.edges), marker_color=BLUE,
               hovertemplate="%{x:.3g}: %{y:,} values<extra></extra>")
    )
    figure.update_layout(
        title=title, bargap=0, height=320, margin=dict(l=10, r=10, t=40 if title else 10, b=40),
        xaxis_title="activation", yaxis_title="count",
        yaxis=dict(type="log", dtick=1) if log_counts else dict(type="linear"),
    )
    return figure


def vector_figure(values: torch.Tensor, top: int = 48, title: str | None = None) -> go.Figure:
    """A layer without spatial extent: its strongest units as bars."""
    order = torch.argsort(values, descending=True)[:top]
    figure = go.Figure(
        go.Bar(x=[f"#{i}" for i in order.tolist()], y=values[order].tolist(), marker_color=BLUE,
               hovertemplate="unit %{x}: %{y:.3g}<extra></extra>")
    )
    figure.update_layout(
        title=title, height=340, margin=dict(l=10, r=10, t=40 if title else 10, b=40),
        xaxis=dict(title=f"the {len(order)} strongest of {values.numel()} units", type="category"),
        yaxis_title="activation",
    )
    return figure


def depth_figure(layers: Sequence[LayerInfo], current: str) -> go.Figure:
    """Resolution falls while channels rise and the receptive field grows, layer by layer."""
    names = [info.name for info in layers]
    spatial = [info.shape[1] if info.is_spatial else 1 for info in layers]
    fields = [info.receptive_field.size for info in layers]
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=names, y=spatial, name="resolution (H = W)", mode="lines+markers",
                                line=dict(color=BLUE), hovertemplate="%{x}: %{y} px<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=[info.channels for info in layers], name="channels",
                                mode="lines+markers", line=dict(color=ORANGE),
                                hovertemplate="%{x}: %{y} channels<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=[f if f else None for f in fields], name="receptive field (px)",
                                mode="lines+markers", line=dict(color=GREEN, dash="dot"),
                                hovertemplate="%{x}: RF %{y} px<extra></extra>"))
    figure.add_vline(x=names.index(current), line=dict(color=RED, width=2))
    figure.update_layout(
        height=340, margin=dict(l=10, r=10, t=10, b=10), hovermode="x unified",
        xaxis=dict(type="category", tickangle=-45),
        yaxis=dict(title="pixels · channels", type="log", dtick=1),
        legend=dict(orientation="h", y=1.12),
    )
    return figure


def filters_figure(filters: np.ndarray, title: str | None = None) -> go.Figure:
    """(N, k, k, 3) filters in [0, 1] as RGB tiles, enlarged with nearest neighbours."""
    scale = max(4, 48 // filters.shape[1])  # a 3x3 filter becomes 48 px, an 11x11 one 44 px
    tiles = np.rint(filters * 255).astype(np.uint8).repeat(scale, axis=1).repeat(scale, axis=2)
    canvas = tiled(tiles, gap=2).rgb
    figure = go.Figure(image_trace(canvas))
    return picture_layout(figure, canvas.shape[1], canvas.shape[0], title, min(520, canvas.shape[0] + 40))
