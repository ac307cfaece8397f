"""Plotly figures of a CNN's activations: mosaic, enlarged channel, statistics, depth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from app.feature_capture import LayerInfo
from app.layer_stats import LayerStats
from app.mosaic import Mosaic
from app.plot_images import image_trace, picture_layout


def mosaic_figure(mosaic: Mosaic, title: str | None = None, height: int = 640) -> go.Figure:
    """The mosaic as one PNG, with an invisible grid on top naming the channel under the cursor."""
    rows, cols = mosaic.channels.shape
    pitch_h, pitch_w = mosaic.pitch
    figure = go.Figure(image_trace(mosaic.rgb, "channels"))
    names = np.where(mosaic.channels >= 0, mosaic.channels, np.nan)
    figure.add_trace(
        go.Heatmap(
            z=names, x=(np.arange(cols) + 0.5) * pitch_w, y=(np.arange(rows) + 0.5) * pitch_h,
            opacity=0, showscale=False, hovertemplate="channel %{z}<extra></extra>", hoverongaps=False,
        )
    )
    return picture_layout(figure, cols * pitch_w, rows * pitch_h, title, height)


def channel_overlay_figure(
    view: np.ndarray,
    channel_map: torch.Tensor,
    opacity: float = 0.6,
    colormap: str = "Viridis",
    value_range: tuple[float, float] | None = None,
    smooth: bool = False,
    receptive_field_box: tuple[float, float, float, float] | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """One (h, w) map stretched over the (S, S, 3) picture the model saw.

    The map travels as numbers (h·w ≤ 112² here), so hover shows the activation
    and the colorbar its scale. `receptive_field_box` (x0, y0, x1, y1) outlines
    what the strongest unit sees.
    """
    size = view.shape[0]
    h, w = channel_map.shape
    low, high = value_range if value_range else (float(channel_map.min()), float(channel_map.max()))
    figure = go.Figure(image_trace(view))
    figure.add_trace(
        go.Heatmap(
            z=channel_map.numpy(), x=(np.arange(w) + 0.5) * size / w, y=(np.arange(h) + 0.5) * size / h,
            zmin=low, zmax=high, colorscale=colormap, opacity=opacity, zsmooth="best" if smooth else False,
            colorbar=dict(title="activation", thickness=12),
            hovertemplate="unit (%{y:.0f}, %{x:.0f}) px: %{z:.3g}<extra></extra>",
        )
    )
    if receptive_field_box is not None:
        x0, y0, x1, y1 = receptive_field_box
        figure.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="white", width=2, dash="dash"))
        figure.add_annotation(x=(x0 + x1) / 2, y=max(y0, 0), text="receptive field of the strongest unit",
                              showarrow=False, yshift=10, font=dict(color="white", size=11),
                              bgcolor="rgba(0,0,0,0.5)")
    return picture_layout(figure, size, size, title, height)


def histogram_figure(stats: LayerStats, log_counts: bool = True, title: str | None = None) -> go.Figure:
    centres = (stats.edges[:-1] + stats.edges[1:]) / 2
    figure = go.Figure(
        go.Bar(x=centres, y=stats.counts, width=np.diff(stats.edges), marker_color="#4c78a8",
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
        go.Bar(x=[f"#{i}" for i in order.tolist()], y=values[order].tolist(), marker_color="#4c78a8",
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
                                line=dict(color="#4c78a8"), hovertemplate="%{x}: %{y} px<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=[info.channels for info in layers], name="channels",
                                mode="lines+markers", line=dict(color="#f58518"),
                                hovertemplate="%{x}: %{y} channels<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=[f if f else None for f in fields], name="receptive field (px)",
                                mode="lines+markers", line=dict(color="#54a24b", dash="dot"),
                                hovertemplate="%{x}: RF %{y} px<extra></extra>"))
    figure.add_vline(x=names.index(current), line=dict(color="#e45756", width=2))
    figure.update_layout(
        height=340, margin=dict(l=10, r=10, t=10, b=10), hovermode="x unified",
        xaxis=dict(type="category", tickangle=-45),
        yaxis=dict(title="pixels · channels", type="log", dtick=1),
        legend=dict(orientation="h", y=1.12),
    )
    return figure


def filters_figure(filters: np.ndarray, title: str | None = None) -> go.Figure:
    """(N, k, k, 3) filters in [0, 1] as RGB tiles, enlarged with nearest neighbours."""
    count, k = filters.shape[0], filters.shape[1]
    scale = max(4, 48 // k)  # a 3x3 filter becomes 48 px, an 11x11 one 44 px
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    pitch = k * scale + 2
    canvas = np.full((rows * pitch, cols * pitch, 3), 255, np.uint8)
    tiles = np.rint(filters * 255).astype(np.uint8).repeat(scale, axis=1).repeat(scale, axis=2)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, cols)
        canvas[row * pitch: row * pitch + k * scale, col * pitch: col * pitch + k * scale] = tile
    figure = go.Figure(image_trace(canvas))
    return picture_layout(figure, canvas.shape[1], canvas.shape[0], title, min(520, canvas.shape[0] + 40))
