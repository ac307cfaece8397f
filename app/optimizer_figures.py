"""Figures of the optimizer race: contours with paths and a replay, 3D, loss curves, a table."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from app.plot_images import png_data_uri
from app.surfaces import Surface
from app.trajectories import Trajectory

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6"]
_TRAIL = 25  # steps of bold trail behind each racer in the replay
_FRAMES = 60  # replay frames at most: the JSON stays small however many steps


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


def _arrow(head: np.ndarray, vector: np.ndarray, length: float) -> tuple[list, list]:
    """A segment from `head` along `vector`, `length` long (None-separated for one trace)."""
    norm = float(np.hypot(*vector))
    if not math.isfinite(norm) or norm == 0:
        return [head[0], head[0], None], [head[1], head[1], None]
    tip = head + vector / norm * length
    return [head[0], tip[0], None], [head[1], tip[1], None]


def _glyphs(trajectories: list[Trajectory], step: int, span: float) -> list[go.Scatter]:
    """At `step`: each racer's head, recent trail, −gradient arrow (dark), velocity
    arrow (its colour, for momentum methods) and a box of half-sides proportional
    to its per-coordinate learning rate (adaptive methods)."""
    heads_x, heads_y, colors, texts = [], [], [], []
    trails, gradients, velocities, boxes = [], [], [], []
    for index, trajectory in enumerate(trajectories):
        color = PALETTE[index % len(PALETTE)]
        k = min(step, len(trajectory.points) - 1)
        if k < 0:
            continue
        head = trajectory.points[k]
        heads_x.append(head[0])
        heads_y.append(head[1])
        colors.append(color)
        texts.append(f"{trajectory.name}: step {k}, f = {trajectory.losses[k]:.4g}")
        trail = trajectory.points[max(0, k - _TRAIL): k + 1]
        trails.append(go.Scatter(x=trail[:, 0], y=trail[:, 1], mode="lines", line=dict(color=color, width=4),
                                 hoverinfo="skip", showlegend=False))
        gx, gy = _arrow(head, -trajectory.gradients[k], 0.08 * span)
        gradients += [gx, gy]
        if trajectory.momentum:
            move = trajectory.steps[k]
            largest = float(np.abs(trajectory.steps).max()) or 1.0
            vx, vy = _arrow(head, move, 0.12 * span * min(1.0, max(0.15, float(np.hypot(*move)) / largest)))
            velocities.append(go.Scatter(x=vx, y=vy, mode="lines+markers", line=dict(color=color, width=3),
                                         marker=dict(symbol="arrow", angleref="previous", size=10, color=color),
                                         hoverinfo="skip", showlegend=False))
        if trajectory.effective_lr is not None:
            rates = trajectory.effective_lr[k]
            scale = 0.06 * span / max(float(np.nanmax(trajectory.effective_lr)), 1e-12)
            half_x, half_y = rates[0] * scale, rates[1] * scale
            boxes.append(go.Scatter(x=[head[0] - half_x, head[0] + half_x, head[0] + half_x, head[0] - half_x,
                                       head[0] - half_x],
                                    y=[head[1] - half_y, head[1] - half_y, head[1] + half_y, head[1] + half_y,
                                       head[1] - half_y],
                                    mode="lines", line=dict(color=color, width=1, dash="dot"), hoverinfo="skip",
                                    showlegend=False))
    gradient_x = [v for pair in gradients[0::2] for v in pair]
    gradient_y = [v for pair in gradients[1::2] for v in pair]
    return [*trails, go.Scatter(x=gradient_x, y=gradient_y, mode="lines", line=dict(color="#222", width=2),
                                hoverinfo="skip", showlegend=False),
            *velocities, *boxes,
            go.Scatter(x=heads_x, y=heads_y, mode="markers", marker=dict(color=colors, size=11,
                       line=dict(color="white", width=1.5)), text=texts, hoverinfo="text", showlegend=False)]


def race_figure(surface: Surface, trajectories: list[Trajectory], start: tuple[float, float],
                clickable: bool = True, height: int = 620) -> go.Figure:
    """Contours, every path (faint) from the same start, minima, divergence marks,
    and a replay (slider and play button) moving each racer with its glyphs."""
    (x0, x1), (y0, y1) = surface.view
    figure = go.Figure()
    # The contours are a background picture, not a trace: Streamlit's plotly drops contour
    # traces when an animation starts. Pale, white at the bottom: the paths stay the boldest thing.
    figure.add_layout_image(source=png_data_uri(contour_picture(surface)), x=x0, y=y1, sizex=x1 - x0,
                            sizey=y1 - y0, xref="x", yref="y", sizing="stretch", layer="below")
    if clickable:  # an invisible grid of points: a click on it selects a new start
        gx, gy = np.meshgrid(np.linspace(*surface.view[0], 60), np.linspace(*surface.view[1], 60))
        figure.add_trace(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", marker=dict(size=9, opacity=0),
                                    hovertemplate="click to start at (%{x:.2f}, %{y:.2f})<extra></extra>",
                                    name="start here", showlegend=False))
    for index, trajectory in enumerate(trajectories):
        color = PALETTE[index % len(PALETTE)]
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
                                    name="minimum", hovertemplate="minimum (%{x:.3f}, %{y:.3f})<extra></extra>"))
    figure.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name="start",
                                marker=dict(symbol="circle-open", size=14, color="black", line=dict(width=2))))
    span = max(surface.view[0][1] - surface.view[0][0], surface.view[1][1] - surface.view[1][0])
    longest = max((len(t.points) for t in trajectories), default=1) - 1
    shown = sorted({round(i * longest / (_FRAMES - 1)) for i in range(_FRAMES)}) if longest > 0 else [0]
    first = _glyphs(trajectories, 0, span)
    base = len(figure.data)
    figure.add_traces(first)
    animated = list(range(base, base + len(first)))
    figure.frames = [go.Frame(name=str(k), data=_glyphs(trajectories, k, span), traces=animated) for k in shown]
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=50, b=90),
        legend=dict(orientation="h", y=1.01, x=0, yanchor="bottom"),
        xaxis=dict(range=list(surface.view[0]), title="x", constrain="domain"),
        yaxis=dict(range=list(surface.view[1]), title="y", scaleanchor="x", constrain="domain"),
        # Click selects the grid point under the cursor (the new start); the modebar's box select
        # sets it to the centre of a dragged box; a plain drag zooms.
        dragmode="zoom", clickmode="event+select",
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", yanchor="top",
                          # redraw=True: partial redraws of an animation wipe plotly's contour layer.
                          buttons=[dict(label="▶ Replay", method="animate",
                                        args=[None, dict(frame=dict(duration=80, redraw=True),
                                                         transition=dict(duration=0), fromcurrent=True)]),
                                   dict(label="❚❚", method="animate",
                                        args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
        sliders=[dict(x=0.16, len=0.84, y=-0.06, currentvalue=dict(prefix="step "),
                      steps=[dict(method="animate", label=str(k),
                                  args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))]) for k in shown])],
    )
    return figure


def surface_3d_figure(surface: Surface, trajectories: list[Trajectory], height: int = 620) -> go.Figure:
    xs, ys, values = surface.grid(90)
    shown = _shown(surface, values)
    figure = go.Figure(go.Surface(x=xs, y=ys, z=shown, colorscale="Blues", reversescale=True, showscale=False,
                                  opacity=0.85, hoverinfo="skip"))
    for index, trajectory in enumerate(trajectories):
        (x0, x1), (y0, y1) = surface.view
        inside = ((trajectory.points[:, 0] >= x0) & (trajectory.points[:, 0] <= x1)
                  & (trajectory.points[:, 1] >= y0) & (trajectory.points[:, 1] <= y1))
        points = trajectory.points[inside]
        heights = _shown(surface, np.array([surface.value(x, y) for x, y in points]))
        figure.add_trace(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=heights + 0.01 * (np.ptp(shown) or 1),
                                      mode="lines", name=trajectory.name,
                                      line=dict(color=PALETTE[index % len(PALETTE)], width=6)))
    z_title = "log(1 + f − f*)" if surface.log_contours else "f"
    figure.update_layout(height=height, margin=dict(l=0, r=0, t=10, b=0), legend=dict(orientation="h"),
                         scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title=z_title))
    return figure


def loss_figure(trajectories: list[Trajectory], surface: Surface, log_scale: bool) -> go.Figure:
    figure = go.Figure()
    offset = surface.minimum_value if surface.minimum_value is not None else 0.0
    for index, trajectory in enumerate(trajectories):
        gap = trajectory.losses - offset
        figure.add_trace(go.Scatter(y=np.maximum(gap, 1e-16) if log_scale else gap, mode="lines",
                                    name=trajectory.name, line=dict(color=PALETTE[index % len(PALETTE)])))
    title = "f − f*" if surface.minimum_value is not None else "f"
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=40), legend=dict(orientation="h", y=1.1),
                         xaxis_title="step", yaxis=dict(title=title, type="log" if log_scale else "linear"))
    return figure


def race_table(trajectories: list[Trajectory], surface: Surface, tolerance: float) -> list[dict[str, object]]:
    rows = []
    for trajectory in trajectories:
        reached = trajectory.steps_to(tolerance, surface.minimum_value)
        rows.append({
            "Optimizer": trajectory.name,
            "Final loss": float(trajectory.losses[-1]) if len(trajectory.losses) else float("nan"),
            f"Steps to f − f* ≤ {tolerance:g}": "—" if reached is None else reached,
            "Diverged": "no" if trajectory.diverged_at is None else f"at step {trajectory.diverged_at}",
        })
    return rows
