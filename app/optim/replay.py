"""The replay of the optimizer race: light frames of each racer's glyphs that plotly animates
in the browser, at most REPLAY_FRAMES of them however many steps were run."""

from __future__ import annotations

import math

import numpy as np

from app.optim.trajectories import Trajectory

REPLAY_FRAMES = 32  # each costs ~4 ms to build: payload, build time and playing time stay bounded
TRAIL = 25  # steps of trail behind each racer
FRAME_MS = 110  # 32 frames play in 3.5 s
QUIET = {"type": "scatter", "hoverinfo": "skip", "showlegend": False}
DECIMALS = 4  # coordinates on the wire: finer than a pixel on every surface's view


def _wire(values: np.ndarray) -> list:
    """A frame's small arrays as plain lists: plotly checks each numpy array it is given through
    narwhals (~0.13 ms each, 1,000 arrays in a race's frames: measured 135 of the figure's 270 ms),
    and lists of short decimals are about as small on the wire as base64 float32."""
    return np.round(values.astype(np.float64), DECIMALS).tolist() if values.dtype.kind == "f" else values.tolist()


def replay_steps(longest: int) -> list[int]:
    """The steps the replay shows: evenly spread from 0 to `longest`, both ends included."""
    if longest <= 0:
        return [0]
    return sorted({round(i * longest / (REPLAY_FRAMES - 1)) for i in range(REPLAY_FRAMES)})


def _arrow(head: np.ndarray, vector: np.ndarray, length: float) -> np.ndarray:
    """(2, 3): x and y of a segment from `head` along `vector`, `length` long, then a gap (NaN)."""
    norm = float(np.hypot(*vector))
    tip = head + vector / norm * length if math.isfinite(norm) and norm > 0 else head
    return np.array([[head[0], tip[0], math.nan], [head[1], tip[1], math.nan]])


def _box(head: np.ndarray, half_sides: np.ndarray) -> np.ndarray:
    """(2, 6): x and y of a rectangle around `head`, then a gap."""
    (left, bottom), (right, top) = head - half_sides, head + half_sides
    return np.array([[left, right, right, left, left, math.nan],
                     [bottom, bottom, top, top, bottom, math.nan]])


def _pieces(pieces: list[np.ndarray]) -> dict:
    """x and y of many NaN-separated pieces (None on the wire), drawn by one trace."""
    joined = np.concatenate(pieces, axis=1) if pieces else np.empty((2, 0))
    return {"x": _wire(joined[0]), "y": _wire(joined[1])}


def racer_coloraxis(palette: list[str]) -> dict:
    """A stepwise colour scale that maps racer index i to palette[i], for the layout's coloraxis:
    frames then colour every racer's marker in one trace by a numeric array, and the scale itself
    is sent and validated once, not in every frame."""
    top = len(palette) - 1
    return {"cmin": 0, "cmax": top, "showscale": False,
            "colorscale": [[i / top, color] for i, color in enumerate(palette)]}


def _by_racer(racers: list[int]) -> dict:
    """Marker colours through the layout's coloraxis (see racer_coloraxis), small integers on the wire."""
    return {"color": list(racers), "coloraxis": "coloraxis"}


def glyphs(trajectories: list[Trajectory], step: int, span: float) -> list[dict]:
    """At `step`, five traces, each holding every racer: the recent trails (dots growing towards
    the head), the −gradient arrows (dark), the velocity arrows of momentum methods (arrowhead in
    the racer's colour), dotted boxes of half-sides proportional to each coordinate's learning rate
    (adaptive methods), and the heads. Always the same five plain dicts: a frame stays light to
    build, send and draw, however many racers there are."""
    trails, trail_racer, trail_sizes, gradients, boxes = [], [], [], [], []
    velocities, velocity_racer, heads, head_racer, texts = [], [], [], [], []
    for index, trajectory in enumerate(trajectories):
        k = min(step, len(trajectory.points) - 1)
        if k < 0:  # diverged before its first step: nothing to draw
            continue
        head = trajectory.points[k]
        heads.append(head)
        head_racer.append(index)
        texts.append(f"{trajectory.name}: step {k}, f = {trajectory.losses[k]:.4g}")
        trail = trajectory.points[max(0, k - TRAIL): k + 1]
        trails.append(trail.T)
        trail_racer += [index] * len(trail)
        trail_sizes.append(np.linspace(3, 7, len(trail)).round().astype(np.uint8))
        gradients.append(_arrow(head, -trajectory.gradients[k], 0.08 * span))
        if trajectory.momentum:
            move, largest = trajectory.steps[k], float(np.abs(trajectory.steps).max()) or 1.0
            share = min(1.0, max(0.15, float(np.hypot(*move)) / largest))  # short, never invisible
            velocities.append(_arrow(head, move, 0.12 * span * share))
            velocity_racer += [index] * 3
        if trajectory.effective_lr is not None:
            scale = 0.06 * span / max(float(np.nanmax(trajectory.effective_lr)), 1e-12)
            boxes.append(_box(head, trajectory.effective_lr[k] * scale))
    head_xy = np.array(heads).reshape(-1, 2)
    trail_marker = {"size": _wire(np.concatenate(trail_sizes)) if trail_sizes else [],
                    **_by_racer(trail_racer)}
    # (head, tip, gap) per arrow: only the tip gets an arrowhead, pointing along the shaft.
    arrowheads = {"symbol": "arrow", "angleref": "previous", "size": [0, 11, 0] * len(velocities),
                  **_by_racer(velocity_racer)}
    return [
        {**QUIET, **_pieces(trails), "mode": "markers", "marker": trail_marker},
        {**QUIET, **_pieces(gradients), "mode": "lines", "line": {"color": "#222", "width": 2}},
        {**QUIET, **_pieces(velocities), "mode": "lines+markers", "line": {"color": "#777", "width": 3},
         "marker": arrowheads},
        {**QUIET, **_pieces(boxes), "mode": "lines", "line": {"color": "#555", "width": 1, "dash": "dot"}},
        {**QUIET, "x": _wire(head_xy[:, 0]), "y": _wire(head_xy[:, 1]), "mode": "markers", "text": texts,
         "hoverinfo": "text", "marker": {"size": 11, "line": {"color": "white", "width": 1.5},
                                         **_by_racer(head_racer)}},
    ]


def moving(trajectories: list[Trajectory], step: int, span: float) -> list[dict]:
    """A frame of the replay: of each glyph trace, only what moves (points, and the colours, sizes
    and texts given per point). Plotly merges a frame into the trace drawn with the figure, so the
    styles are sent once; a frame of full traces took plotly's checks twice as long to build."""
    frame = []
    for trace in glyphs(trajectories, step, span):
        changed = {key: trace[key] for key in ("x", "y", "text") if key in trace}
        per_point = {key: value for key, value in trace.get("marker", {}).items() if isinstance(value, list)}
        frame.append({**changed, "marker": per_point} if per_point else changed)
    return frame


def replay_controls(shown: list[int]) -> dict:
    """Layout of ▶ Replay and pause side by side and a step slider, under the plot. redraw=False:
    a frame moves the glyph traces only; the contour picture and the full paths stay as drawn. The
    slider's own tick labels are transparent (48 of them overlap); it shows "step k" above it."""
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    play = {"frame": {"duration": FRAME_MS, "redraw": False}, "transition": {"duration": 0},
            "fromcurrent": True}
    buttons = [{"label": "▶ Replay", "method": "animate", "args": [None, play]},
               {"label": "❚❚", "method": "animate", "args": [[None], still]}]
    steps = [{"method": "animate", "label": str(k), "args": [[str(k)], still]} for k in shown]
    return {
        "updatemenus": [{"type": "buttons", "direction": "left", "showactive": False, "x": 0, "y": -0.1,
                         "xanchor": "left", "yanchor": "top", "pad": {"t": 0, "r": 0}, "buttons": buttons}],
        "sliders": [{"x": 0.36, "len": 0.64, "y": -0.1, "yanchor": "top", "pad": {"t": 0, "b": 0},
                     "ticklen": 4, "minorticklen": 2, "font": {"color": "rgba(0, 0, 0, 0)"},
                     "currentvalue": {"prefix": "step ", "font": {"color": "#444", "size": 14}},
                     "steps": steps}],
    }
