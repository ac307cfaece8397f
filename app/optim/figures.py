"""Figures of the optimizer race: contours with paths and a replay, 3D, loss curves."""

from __future__ import annotations

import functools
import math

import numpy as np
import plotly.graph_objects as go

from app.figures.palette import PALETTE, series_colour
from app.figures.plot_images import png_data_uri
from app.optim.replay import glyphs, moving, racer_coloraxis, replay_controls, replay_steps
from app.optim.surfaces import Surface
from app.optim.trajectories import Trajectory

_CLICK_GRID = 41  # clickable start points per axis


def _shown(surface: Surface, values: np.ndarray) -> np.ndarray:
    """What the contours and 3D heights show: log(1 + f − f_min) for surfaces with narrow valleys."""
    if surface.log_contours and surface.minimum_value is not None:
        return np.log1p(np.maximum(values - surface.minimum_value, 0))
    return values


def contour_picture(surface: Surface, resolution: int = 360, bands: int = 30) -> np.ndarray:
    """Filled contours as an RGB picture (row 0 at the top of the view): pale bands,
    white at the bottom of the surface, with grey lines between bands."""
    xs = np.linspace(*surface.view[0], resolution)
    ys = np.linspace(*surface.view[1], resolution)[::-1]
    x, y = np.meshgrid(xs, ys)
    shown = _shown(surface, surface.value(x, y, np))
    low, high = float(np.nanmin(shown)), float(np.nanmax(shown))
    band = np.clip(((shown - low) / ((high - low) or 1.0) * bands).astype(int), 0, bands - 1)
    shade = (band / (bands - 1))[..., None]
    picture = (1 - shade) * np.array([255.0, 255.0, 255.0]) + shade * np.array([158.0, 202.0, 225.0])
    edge = np.zeros_like(band, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    picture[edge] = (138, 143, 153)
    return picture.astype(np.uint8)


@functools.lru_cache(maxsize=32)
def _contour_uri(surface: Surface) -> str:
    """The contour picture as a PNG data URI, once per surface setting (a frozen, hashable dataclass)."""
    return png_data_uri(contour_picture(surface))


def race_figure(surface: Surface, trajectories: list[Trajectory], start: tuple[float, float],
                clickable: bool = True, height: int = 620) -> go.Figure:
    """Contours, every path (faint) from the same start, minima, divergence marks,
    and a replay (slider and play button, REPLAY_FRAMES at most) moving each racer with its glyphs."""
    (x0, x1), (y0, y1) = surface.view
    figure = go.Figure()
    # The contours are a background picture, not a trace: Streamlit's plotly drops contour
    # traces when an animation starts. Pale, white at the bottom: the paths stay the boldest thing.
    figure.add_layout_image(source=_contour_uri(surface), x=x0, y=y1, sizex=x1 - x0,
                            sizey=y1 - y0, xref="x", yref="y", sizing="stretch", layer="below")
    if clickable:  # an invisible grid of points: a click on it selects a new start
        gx, gy = np.meshgrid(np.linspace(x0, x1, _CLICK_GRID, dtype=np.float32),
                             np.linspace(y0, y1, _CLICK_GRID, dtype=np.float32))
        # Empty texts, not invisible markers: text points can be hovered and selected alike, and
        # plotly draws no element for an empty text, while 1,681 transparent markers took the
        # browser ~250 ms on every redraw of the race (measured, bench notes in RESULTS.md).
        figure.add_trace(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="text", text=[""] * gx.size,
                                    hovertemplate="click to start at (%{x:.2f}, %{y:.2f})<extra></extra>",
                                    name="start here", showlegend=False))
    for index, trajectory in enumerate(trajectories):
        color = series_colour(index)
        figure.add_trace(go.Scatter(x=trajectory.points[:, 0], y=trajectory.points[:, 1], mode="lines",
                                    name=trajectory.name, line=dict(color=color, width=1.5), opacity=0.55,
                                    hoverinfo="skip"))
        if trajectory.diverged_at is not None and len(trajectory.points):
            last = trajectory.points[-1]
            label = ("ran off, f unbounded below" if surface.minimum_value is None else "diverged")
            figure.add_trace(go.Scatter(x=[last[0]], y=[last[1]], mode="markers+text", showlegend=False,
                                        marker=dict(symbol="x", size=14, color=color, line=dict(width=2)),
                                        text=[f"{label} at step {trajectory.diverged_at}"],
                                        textposition="top center", textfont=dict(color=color),
                                        hoverinfo="text"))
    if surface.minima:
        figure.add_trace(go.Scatter(x=[m[0] for m in surface.minima], y=[m[1] for m in surface.minima],
                                    mode="markers", marker=dict(symbol="star", size=15, color="gold",
                                                                line=dict(color="black", width=1)),
                                    name="minimum",
                                    hovertemplate="minimum (%{x:.3f}, %{y:.3f})<extra></extra>"))
    figure.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name="start",
                                marker=dict(symbol="circle-open", size=14, color="black",
                                            line=dict(width=2))))
    span = max(x1 - x0, y1 - y0)
    shown = replay_steps(max((len(t.points) for t in trajectories), default=1) - 1)
    first = glyphs(trajectories, 0, span)
    animated = list(range(len(figure.data), len(figure.data) + len(first)))
    figure.add_traces(first)
    figure.frames = [{"name": str(k), "data": moving(trajectories, k, span), "traces": animated}
                     for k in shown]
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10),
        xaxis=dict(range=[x0, x1], title="x", constrain="domain"),
        yaxis=dict(range=[y0, y1], title="y", scaleanchor="x", constrain="domain"),
        # Click selects the grid point under the cursor (the new start); the modebar's box select
        # sets it to the centre of a dragged box; a plain drag zooms.
        dragmode="zoom", clickmode="event+select", coloraxis=racer_coloraxis(PALETTE),
        **replay_controls(shown), **FIXED_MARGINS,
    )
    return legend_below(figure, margin_bottom=240)  # room for five legend rows in a narrow column


# For figures whose margins already hold everything drawn in them (no axis labels there). Left
# to grow its margins itself, plotly measures the legend and a replay's controls, then draws the
# whole figure a second time; Streamlit draws a race figure anew on every change of a setting
# (its chart gets a new identity), so that second drawing was paid on every control: the race
# figure's fresh draw in Chromium took 125 ms with it, 80 ms without.
FIXED_MARGINS = {"margin_autoexpand": False}


def legend_below(figure: go.Figure, margin_bottom: int) -> go.Figure:
    """A horizontal legend at the bottom of the figure, in a `margin_bottom` px margin: away from
    the modebar, which sits at the top right and would cover a legend there."""
    figure.update_layout(margin_b=margin_bottom, legend=dict(orientation="h", x=0, xanchor="left", y=0,
                                                             yanchor="bottom", yref="container"))
    return figure


# Plotly draws 3D scenes at twice the screen's pixels by default. Without a GPU (software
# WebGL, as in headless Chromium and some classroom laptops) opening the 3D view took 1.34 s to
# draw, 1.03 s at one (measured on this figure in Chromium, each in a fresh browser).
SURFACE_3D_CONFIG = {"plotGlPixelRatio": 1}


def surface_3d_figure(surface: Surface, trajectories: list[Trajectory], height: int = 620) -> go.Figure:
    xs, ys, values = surface.grid(64)
    shown = _shown(surface, values)
    # float32 heights: the browser gets half the bytes, and the picture cannot tell.
    figure = go.Figure(go.Surface(x=xs, y=ys, z=shown.astype(np.float32), colorscale="Blues",
                                  reversescale=True, showscale=False, opacity=0.85, hoverinfo="skip"))
    (x0, x1), (y0, y1) = surface.view
    for index, trajectory in enumerate(trajectories):
        x, y = trajectory.points[:, 0], trajectory.points[:, 1]
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        heights = _shown(surface, surface.value(x[inside], y[inside], np))
        figure.add_trace(go.Scatter3d(x=x[inside], y=y[inside], z=heights + 0.01 * (np.ptp(shown) or 1),
                                      mode="lines", name=trajectory.name,
                                      line=dict(color=series_colour(index), width=6)))
    z_title = "log(1 + f − f*)" if surface.log_contours else "f"
    figure.update_layout(height=height, margin=dict(l=0, r=0, t=10),
                         scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title=z_title))
    return legend_below(figure, margin_bottom=70)


LOG_FLOOR = 1e-16  # f − f* below this (rounding at the minimum) is drawn at it on a log axis


def log_axis(values: np.ndarray, labels: int = 10) -> dict:
    """A log axis labelled 1e-6, 1e-3, … (no SI prefixes: "1µ" or "1f" mean nothing for a loss),
    one label per decade, or per few decades where the data spans more than `labels` of them."""
    finite = values[np.isfinite(values) & (values > 0)]
    decades = float(np.log10(finite.max() / finite.min())) if len(finite) else 1.0
    return dict(type="log", exponentformat="e", showexponent="all", dtick=max(1, math.ceil(decades / labels)))


def loss_figure(trajectories: list[Trajectory], surface: Surface, log_scale: bool) -> go.Figure:
    figure = go.Figure()
    offset = surface.minimum_value if surface.minimum_value is not None else 0.0
    gaps = [t.losses - offset for t in trajectories]
    if log_scale:
        gaps = [np.maximum(gap, LOG_FLOOR) for gap in gaps]
    for index, (trajectory, gap) in enumerate(zip(trajectories, gaps)):
        figure.add_trace(go.Scatter(y=gap, mode="lines", name=trajectory.name,
                                    line=dict(color=series_colour(index))))
    title = "f − f*" if surface.minimum_value is not None else "f"
    every = np.concatenate([*gaps, [1.0]])
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=10), xaxis_title="step",
                         yaxis=dict(title=title, **(log_axis(every) if log_scale else dict(type="linear"))))
    return legend_below(figure, margin_bottom=110)
