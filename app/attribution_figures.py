"""Plotly figures for attributions: a map over the picture, and deletion curves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from app.deletion import DeletionCurve
from app.overlays import map_overlay_figure

_HEATMAP_SIDE = 112  # maps travel as numbers: half resolution is plenty to see


def attribution_figure(
    view: np.ndarray, attribution: np.ndarray, signed: bool, opacity: float = 0.55,
    title: str | None = None, height: int = 420,
) -> go.Figure:
    """A (S, S) map over the (S, S, 3) picture the model saw. Signed maps use a
    diverging scale centred on 0 (red for, blue against); others run from 0 up.
    The scale ends at the 99th percentile of |value|, as is usual for pixel-level
    maps whose few extreme pixels would otherwise wash out the rest."""
    side = min(_HEATMAP_SIDE, attribution.shape[0])
    small = F.adaptive_avg_pool2d(torch.from_numpy(np.ascontiguousarray(attribution))[None, None], side)[0, 0]
    limit = float(np.percentile(small.abs().numpy(), 99)) or float(small.abs().max()) or 1.0
    return map_overlay_figure(
        view, small, opacity, "RdBu_r" if signed else "Inferno", (-limit if signed else 0.0, limit),
        smooth=True, title=title, height=height, value_label="attribution",
    )


def deletion_figure(curves: dict[str, DeletionCurve], class_name: str) -> go.Figure:
    figure = go.Figure()
    for name, curve in curves.items():
        dashed = name.startswith("random")
        figure.add_trace(go.Scatter(
            x=curve.fractions, y=curve.probabilities, mode="lines+markers",
            name=f"{name} (area {curve.area:.3f})", line=dict(dash="dash" if dashed else "solid"),
            hovertemplate="%{x:.0%} removed: p = %{y:.3f}<extra></extra>",
        ))
    figure.update_layout(
        height=360, margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title="share of the image removed (most attributed first)", tickformat=".0%"),
        yaxis=dict(title=f"p({class_name})", rangemode="tozero"),
        title="Deletion curves: lower area means a more faithful map",
    )
    return figure
