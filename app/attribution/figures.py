"""Plotly figures for attributions: a map over the picture, and the faithfulness curves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots

from app.attribution.faithfulness import Faithfulness
from app.figures.overlays import map_overlay_figure

_HEATMAP_SIDE = 112  # maps travel as numbers: half resolution is plenty to see
_COLOURS = {"Grad-CAM": "#d62728", "Saliency": "#1f77b4", "Integrated Gradients": "#2ca02c",
            "Occlusion": "#9467bd", "random order": "#7f7f7f"}


def attribution_figure(
    view: np.ndarray, attribution: np.ndarray, signed: bool, opacity: float = 0.55,
    title: str | None = None, height: int = 420, colorbar_below: bool = False,
) -> go.Figure:
    """A (S, S) map over the (S, S, 3) picture the model saw. Signed maps use a
    diverging scale centred on 0 (red for, blue against); others run from 0 up.
    Zero is transparent: a cell's opacity grows with |value|. The scale ends at the
    99th percentile of |value|, as is usual for pixel-level maps whose few extreme
    pixels would otherwise wash out the rest."""
    side = min(_HEATMAP_SIDE, attribution.shape[0])
    small = F.adaptive_avg_pool2d(torch.from_numpy(np.ascontiguousarray(attribution))[None, None], side)[0, 0]
    limit = float(np.percentile(small.abs().numpy(), 99)) or float(small.abs().max()) or 1.0
    return map_overlay_figure(
        view, small, opacity, "RdBu_r" if signed else "Inferno", (-limit if signed else 0.0, limit),
        smooth=True, title=title, height=height, value_label="attribution", fade=True, signed=signed,
        colorbar_below=colorbar_below,
    )


def faithfulness_figure(results: dict[str, Faithfulness], class_name: str) -> go.Figure:
    """Deletion (left) and insertion (right) curves, one colour per map, the random order dashed."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        "Deletion: most attributed removed first (lower area is better)",
        "Insertion: most attributed put back first (higher area is better)"))
    for name, result in results.items():
        style = dict(color=_COLOURS.get(name), dash="dash" if name == "random order" else "solid")
        panels = ((result.deletion, "removed"), (result.insertion, "inserted"))
        for col, (curve, verb) in enumerate(panels, 1):
            figure.add_trace(go.Scatter(
                x=curve.fractions, y=curve.probabilities, mode="lines", name=name, legendgroup=name,
                showlegend=col == 1, line=style,
                hovertemplate=f"{name}<br>%{{x:.0%}} {verb}: p = %{{y:.3f}}<extra></extra>",
            ), row=1, col=col)
    figure.update_xaxes(tickformat=".0%", title="share of the 8×8 px squares")
    figure.update_yaxes(title=f"p({class_name})", rangemode="tozero", tickformat=".2f", row=1, col=1)
    figure.update_yaxes(rangemode="tozero", tickformat=".2f", row=1, col=2)
    figure.update_layout(height=400, margin=dict(l=10, r=10, t=50, b=40),
                         legend=dict(orientation="h", y=-0.22, x=0.5, xanchor="center"))
    figure.update_annotations(font_size=14)
    return figure
