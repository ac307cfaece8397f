"""Figures of loss landscapes: lines, contour and 3D surfaces with the path, side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.figures.palette import BLUE, ORANGE, RED
from app.landscape.grid import LossGrid

_METRIC_TITLE = {"loss": "loss", "accuracy": "accuracy"}
# Accuracy ticks every 20 %, from 0: round numbers a class reads at a glance.
# Hover shows the value itself (customdata), not its log₁₀ drawn on a log scale.
_HOVER = "α %{{x:.2f}}, β %{{y:.2f}}: %{{customdata:.4g}}<extra>{metric}</extra>"
_ACCURACY_TICKS = {"tickformat": ".0%", "tick0": 0, "dtick": 0.2}


def _tick_label(value: float) -> str:
    """0.05, 0.2, 1, 20, 500 as written; beyond three decades from 1, 2e-5 or 1e6."""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    if -3 <= exponent <= 3:
        return f"{value:g}"
    return f"{round(value / 10 ** exponent)}e{exponent}"


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis from `low` to `high` (both > 0): 1-2-5
    steps while they are at most seven, else decades (every other one past six); on an
    axis too short for two of them, three values evenly spread in log, rounded to one
    or two digits. At least two ticks show (unless low = high), never crowded."""
    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))

    def inside(values):
        return [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]

    values = inside([float(f"{m}e{e}") for e in range(first, last + 1) for m in (1, 2, 5)])
    if len(values) > 7:
        values = inside([float(f"1e{e}") for e in range(first, last + 1, 2 if last - first > 6 else 1)])
    for digits in (1, 2):
        if len(values) >= 2:
            break
        values = inside(sorted({float(f"{v:.{digits}g}") for v in np.geomspace(low, high, 3)}))
    return values, [_tick_label(v) for v in values]


def _log_axis(values: np.ndarray) -> dict:
    """A log-scale axis of `values` with readable ticks (plotly's own crowd on short axes)."""
    finite = values[np.isfinite(values) & (values > 0)]
    if not finite.size:
        return {"type": "log"}
    ticks, labels = log_ticks(float(finite.min()), float(finite.max()))
    return {"type": "log", "tickvals": ticks, "ticktext": labels}


def line_figure(alphas: np.ndarray, loss: np.ndarray, accuracy: np.ndarray, title: str,
                marks: dict[str, float] | None = None, log_scale: bool = False) -> go.Figure:
    """Loss (left axis) and accuracy (right axis) along one line in weight space."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=alphas, y=loss, name="loss", mode="lines", line=dict(color=BLUE, width=2)))
    figure.add_trace(go.Scatter(x=alphas, y=accuracy, name="accuracy", mode="lines", yaxis="y2",
                                line=dict(color=ORANGE, width=2, dash="dot")))
    for label, alpha in (marks or {}).items():
        figure.add_vline(x=alpha, line=dict(color="#999", dash="dash"), annotation_text=label)
    figure.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40, b=40), xaxis_title="α",
                         yaxis=dict(title="loss", **(_log_axis(np.asarray(loss)) if log_scale else {})),
                         yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1],
                                     showgrid=False, **_ACCURACY_TICKS),
                         legend=dict(orientation="h", y=-0.25))
    return figure


def _values(surface: LossGrid, metric: str, log_scale: bool) -> np.ndarray:
    values = surface.loss if metric == "loss" else surface.accuracy
    return np.log10(np.maximum(values, 1e-8)) if log_scale and metric == "loss" else values


def _value_ticks(metric: str, log_scale: bool, low: float, high: float) -> dict:
    """Ticks of a colour bar or z axis: loss values at their log₁₀ positions on a log
    scale, round percentages for accuracy."""
    if metric == "accuracy":
        return _ACCURACY_TICKS
    if not log_scale:
        return {}
    ticks, labels = log_ticks(10 ** low, 10 ** high)
    return {"tickvals": np.log10(ticks).tolist(), "ticktext": labels}


def contour_figure(surface: LossGrid, metric: str = "loss", log_scale: bool = False,
                   value_range: tuple[float, float] | None = None, path: np.ndarray | None = None,
                   title: str | None = None, axis_titles: tuple[str, str] = ("α", "β")) -> go.Figure:
    """Filled contours of the surface (points not computed yet are blank), the final
    weights at (0, 0) and, given one, the training path projected onto the plane."""
    values = _values(surface, metric, log_scale)
    low, high = value_range if value_range else (np.nanmin(values), np.nanmax(values))
    label = "loss (log scale)" if log_scale and metric == "loss" else _METRIC_TITLE[metric]
    shown = surface.loss if metric == "loss" else surface.accuracy
    figure = go.Figure(go.Contour(x=surface.alphas, y=surface.betas, z=values, zmin=low, zmax=high, ncontours=25,
                                  colorscale="Viridis" if metric == "loss" else "Viridis_r",
                                  colorbar=dict(title=label, thickness=12,
                                                **_value_ticks(metric, log_scale, low, high)),
                                  connectgaps=False, contours=dict(coloring="heatmap", showlines=True),
                                  customdata=shown, hovertemplate=_HOVER.format(metric=metric)))
    if path is not None:
        figure.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name="training path",
                                    line=dict(color="white", width=2), marker=dict(size=6, color="white",
                                                                                   line=dict(color="black", width=1))))
    figure.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="final weights",
                                marker=dict(symbol="star", size=14, color=RED, line=dict(color="white", width=1))))
    figure.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=40 if title else 10, b=40),
                         xaxis=dict(title=axis_titles[0]), yaxis=dict(title=axis_titles[1], scaleanchor="x"),
                         showlegend=True, legend=dict(orientation="h", y=-0.2))  # the star's meaning, always
    return figure


def surface_3d_figure(surface: LossGrid, metric: str = "loss", log_scale: bool = False,
                      value_range: tuple[float, float] | None = None, title: str | None = None) -> go.Figure:
    values = _values(surface, metric, log_scale)
    low, high = value_range if value_range else (np.nanmin(values), np.nanmax(values))
    figure = go.Figure(go.Surface(x=surface.alphas, y=surface.betas, z=values, cmin=low, cmax=high,
                                  colorscale="Viridis", showscale=False,
                                  customdata=surface.loss if metric == "loss" else surface.accuracy,
                                  hovertemplate=_HOVER.format(metric=metric)))
    figure.update_layout(title=title, height=460, margin=dict(l=0, r=0, t=40 if title else 10, b=0),
                         scene=dict(xaxis_title="α", yaxis_title="β",
                                    zaxis=dict(title="loss (log)" if log_scale and metric == "loss" else metric,
                                               range=[low, high],
                                               **_value_ticks(metric, log_scale, low, high))))
    return figure


def shared_range(surfaces: list[LossGrid], metric: str, log_scale: bool) -> tuple[float, float]:
    """One colour scale for side-by-side surfaces, so equal colours mean equal values."""
    values = np.concatenate([_values(s, metric, log_scale).ravel() for s in surfaces])
    return float(np.nanmin(values)), float(np.nanmax(values))
