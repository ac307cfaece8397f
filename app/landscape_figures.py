"""Figures of loss landscapes: lines, contour and 3D surfaces with the path, side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.landscape import Surface

_METRIC_TITLE = {"loss": "loss", "accuracy": "accuracy"}


def line_figure(alphas: np.ndarray, loss: np.ndarray, accuracy: np.ndarray, title: str,
                marks: dict[str, float] | None = None, log_scale: bool = False) -> go.Figure:
    """Loss (left axis) and accuracy (right axis) along one line in weight space."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=alphas, y=loss, name="loss", mode="lines", line=dict(color="#4c78a8", width=2)))
    figure.add_trace(go.Scatter(x=alphas, y=accuracy, name="accuracy", mode="lines", yaxis="y2",
                                line=dict(color="#f58518", width=2, dash="dot")))
    for label, alpha in (marks or {}).items():
        figure.add_vline(x=alpha, line=dict(color="#999", dash="dash"), annotation_text=label)
    figure.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40, b=40), xaxis_title="α",
                         yaxis=dict(title="loss", type="log" if log_scale else "linear"),
                         yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1], tickformat=".0%"),
                         legend=dict(orientation="h", y=-0.25))
    return figure


def _values(surface: Surface, metric: str, log_scale: bool) -> np.ndarray:
    values = surface.loss if metric == "loss" else surface.accuracy
    return np.log10(np.maximum(values, 1e-8)) if log_scale and metric == "loss" else values


def contour_figure(surface: Surface, metric: str = "loss", log_scale: bool = False,
                   value_range: tuple[float, float] | None = None, path: np.ndarray | None = None,
                   title: str | None = None, axis_titles: tuple[str, str] = ("α", "β")) -> go.Figure:
    """Filled contours of the surface (points not computed yet are blank), the final
    weights at (0, 0) and, given one, the training path projected onto the plane."""
    values = _values(surface, metric, log_scale)
    low, high = value_range if value_range else (np.nanmin(values), np.nanmax(values))
    label = "log₁₀ loss" if log_scale and metric == "loss" else _METRIC_TITLE[metric]
    figure = go.Figure(go.Contour(x=surface.alphas, y=surface.betas, z=values, zmin=low, zmax=high, ncontours=25,
                                  colorscale="Viridis" if metric == "loss" else "Viridis_r",
                                  colorbar=dict(title=label, thickness=12), connectgaps=False,
                                  contours=dict(coloring="heatmap", showlines=True),
                                  hovertemplate=f"α %{{x:.2f}}, β %{{y:.2f}}: %{{z:.4g}}<extra>{label}</extra>"))
    if path is not None:
        figure.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name="training path",
                                    line=dict(color="white", width=2), marker=dict(size=6, color="white",
                                                                                   line=dict(color="black", width=1))))
    figure.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="final weights",
                                marker=dict(symbol="star", size=14, color="#e45756", line=dict(color="white", width=1))))
    figure.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=40 if title else 10, b=40),
                         xaxis=dict(title=axis_titles[0]), yaxis=dict(title=axis_titles[1], scaleanchor="x"),
                         showlegend=True, legend=dict(orientation="h", y=-0.2))  # the star's meaning, always
    return figure


def surface_3d_figure(surface: Surface, metric: str = "loss", log_scale: bool = False,
                      value_range: tuple[float, float] | None = None, title: str | None = None) -> go.Figure:
    values = _values(surface, metric, log_scale)
    low, high = value_range if value_range else (np.nanmin(values), np.nanmax(values))
    figure = go.Figure(go.Surface(x=surface.alphas, y=surface.betas, z=values, cmin=low, cmax=high,
                                  colorscale="Viridis", showscale=False))
    figure.update_layout(title=title, height=460, margin=dict(l=0, r=0, t=40 if title else 10, b=0),
                         scene=dict(xaxis_title="α", yaxis_title="β",
                                    zaxis=dict(title="log10 loss" if log_scale and metric == "loss" else metric,  # WebGL lacks ₁₀
                                               range=[low, high])))
    return figure


def shared_range(surfaces: list[Surface], metric: str, log_scale: bool) -> tuple[float, float]:
    """One colour scale for side-by-side surfaces, so equal colours mean equal values."""
    values = np.concatenate([_values(s, metric, log_scale).ravel() for s in surfaces])
    return float(np.nanmin(values)), float(np.nanmax(values))
