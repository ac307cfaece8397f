"""One map of numbers laid over the picture the model saw: the figure every page shares."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from app.figures.colormaps import fading_colorscale
from app.figures.plot_images import Picture, image_trace, picture_size

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in input pixels


def map_overlay_figure(
    view: Picture,
    values: torch.Tensor | np.ndarray,
    opacity: float = 0.6,
    colormap: str = "Viridis",
    value_range: tuple[float, float] | None = None,
    smooth: bool = False,
    box: Box | None = None,
    box_label: str = "",
    title: str | None = None,
    height: int = 520,
    value_label: str = "value",
    fade: bool = False,
    signed: bool = False,
    tickformat: str | None = None,
    colorbar_below: bool = False,
) -> go.Figure:
    """An (h, w) map stretched over the (H, W, 3) picture; each cell covers H/h × W/w pixels.

    The map travels as numbers, so hover shows each value and the colorbar its
    scale; keep h·w modest (a few ten thousand). `box` outlines a region such as
    a receptive field or a clicked patch.

    `fade` makes each cell's opacity grow with its value (from 0 at the low end of
    `value_range`, or at its centre when `signed`), so zero leaves the photo untinted.
    Colour-bar ticks are plain numbers, never SI prefixes such as "615µ" (or
    `tickformat`, in d3's syntax, e.g. ".1%"). `colorbar_below` lays the colour bar
    under the picture, so that figures side by side keep one picture size whatever
    their tick labels' widths.
    """
    rows, cols = picture_size(view)
    values = values.numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    h, w = values.shape
    low, high = value_range if value_range else (float(values.min()), float(values.max()))
    heatmap = go.Heatmap(
        z=values, x=(np.arange(w) + 0.5) * cols / w, y=(np.arange(h) + 0.5) * rows / h,
        zmin=low, zmax=high, zsmooth="best" if smooth else False,
        colorscale=fading_colorscale(colormap, opacity, signed) if fade else colormap,
        opacity=1.0 if fade else opacity,
        colorbar=_colorbar(value_label, tickformat, colorbar_below),
        hovertemplate=f"(%{{x:.0f}}, %{{y:.0f}}) px: %{{z:.3g}}<extra>{value_label}</extra>",
    )
    shapes, annotations = [], []
    if box is not None:
        x0, y0, x1, y1 = box
        shapes.append(dict(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="white", width=2, dash="dash")))
        if box_label:
            annotations.append(dict(x=(x0 + x1) / 2, y=max(y0, 0), text=box_label, showarrow=False, yshift=10,
                                    font=dict(color="white", size=11), bgcolor="rgba(0,0,0,0.5)"))
    # The layout in one piece, as picture_layout sets it: plotly validates each update on its own,
    # which cost more than the figure (5.8 ms a figure, drawn in 3.0 ms this way).
    yaxis = dict(visible=False, range=[rows, 0], scaleanchor="x", constrain="domain",
                 **({"domain": [_BELOW, 1.0]} if colorbar_below else {}))
    return go.Figure(data=[image_trace(view), heatmap], layout=dict(
        xaxis=dict(visible=False, range=[0, cols], constrain="domain"), yaxis=yaxis,
        shapes=shapes, annotations=annotations, margin=dict(l=0, r=0, t=36 if title else 0, b=0),
        height=height, plot_bgcolor="white", dragmode="pan", **({"title": title} if title else {})))


_BELOW = 0.16  # share of the figure's height under the picture, for a colour bar laid across


def _colorbar(title: str, tickformat: str | None, below: bool) -> dict:
    common = dict(thickness=12, exponentformat="none", **({"tickformat": tickformat} if tickformat else {}))
    if below:
        return dict(title=dict(text=title, side="right"), orientation="h", x=0.5, xanchor="center",
                    y=_BELOW - 0.04, yanchor="top", len=0.9, **common)
    return dict(title=title, len=0.8, **common)
