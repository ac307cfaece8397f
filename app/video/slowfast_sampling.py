"""SlowFast's two samplings of one clip (Feichtenhofer et al. 2019): the fast pathway takes α
times as many frames as the slow one, with β times its channels (β < 1: the paper's α = 8,
β = 1/8), so it sees how things move at a fraction of the slow pathway's cost.

β here is the paper's fraction; the project's `motion_models.SlowFast` takes its inverse (its
`beta=4` divides the widths by 4, β = 1/4).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import plotly.graph_objects as go

from app.figures.palette import BLUE, ORANGE
from app.figures.plot_images import png_data_uri, resized_view

FONT = 16  # readable from the back of a room on a 1280×720 projector
THUMBNAIL_HEIGHT = 64  # pixels per thumbnail sent to the browser: enough for a strip of small frames


@dataclass(frozen=True, eq=False)
class Sampling:
    slow: np.ndarray  # indices into the clip's frames
    fast: np.ndarray


def sampling(times: np.ndarray, alpha: int) -> Sampling:
    """Which of the clip's frames (at `times`, seconds) each pathway takes: the fast one every
    frame, the slow one every α-th from the first, as the project's SlowFast (`clips[:, :, ::α]`)."""
    if alpha < 1:
        raise ValueError(f"alpha must be at least 1, not {alpha}")
    count = len(times)
    return Sampling(slow=np.arange(0, count, alpha), fast=np.arange(count))


def relative_cost(alpha: int, beta: float) -> float:
    """The fast pathway's multiply-adds over the slow one's for the same convolution: α times the
    frames, and β times the channels both in and out, so β² the multiply-adds per output."""
    return alpha * beta**2


def channel_width(beta: float) -> str:
    """βC in words: 'C/8' for β = 1/8, '0.3C' where β is no unit fraction."""
    fraction = Fraction(beta).limit_denominator(1000)
    if fraction == 1:
        return "C"
    return f"C/{fraction.denominator}" if fraction.numerator == 1 else f"{beta:g}C"


def _thumbnails(figure: go.Figure, frames: np.ndarray, times: np.ndarray, row: float, step: float) -> None:
    """Every frame, shrunk, centred over its time in a band at `row` (axis units)."""
    height = min(THUMBNAIL_HEIGHT, frames.shape[1])
    width = max(1, round(frames.shape[2] * height / frames.shape[1]))
    images = []
    for frame, time in zip(frames, times):
        small = np.clip(np.rint(resized_view(frame, height, width)), 0, 255).astype(np.uint8)
        images.append(dict(source=png_data_uri(small), x=float(time), y=row, xref="x", yref="y", sizex=0.92 * step,
                           sizey=0.9, xanchor="center", yanchor="middle", sizing="contain", layer="above"))
    figure.update_layout(images=images)  # at once: plotly validates the layout on every addition


def timeline_figure(times: np.ndarray, alpha: int, beta: float, frames: np.ndarray | None = None) -> go.Figure:
    """The clip's time axis (seconds) with a row of marks per pathway at the frames it takes, the
    slow ones larger, each row labelled with its frames and channels; with `frames` (T, H, W, 3)
    uint8, a strip of them above, each over its time."""
    picked = sampling(times, alpha)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    figure = go.Figure()
    rows = {"fast": (0.0, picked.fast, ORANGE, 11, f"{len(picked.fast)} frames, βC = {channel_width(beta)} channels"),
            "slow": (1.0, picked.slow, BLUE, 24, f"{len(picked.slow)} frames, C channels")}
    for name, (row, indices, colour, size, label) in rows.items():
        figure.add_trace(go.Scatter(
            x=times[indices], y=np.full(len(indices), row), mode="markers", name=name, customdata=indices + 1,
            marker=dict(size=size, color=colour, symbol="square"), showlegend=False,
            hovertemplate=f"{name} pathway: frame %{{customdata}} at %{{x:.2f}} s<extra></extra>"))
        figure.add_annotation(x=0, xref="paper", y=row + 0.38, yref="y", xanchor="left", showarrow=False,
                              text=f"<b>{name.capitalize()}:</b> {label}", font=dict(size=FONT, color=colour))
    top = 1.6
    if frames is not None:
        _thumbnails(figure, frames, times, row=2.1, step=step)
        top = 2.6
    figure.update_xaxes(title_text="time (s)", range=[times[0] - step, times[-1] + step], showgrid=False,
                        zeroline=False, tickfont=dict(size=FONT))
    figure.update_yaxes(visible=False, range=[-0.5, top], fixedrange=True)
    figure.update_layout(font=dict(size=FONT), height=round(110 * (top + 0.5)) + 60,
                         margin=dict(l=10, r=10, t=10, b=50), plot_bgcolor="white")
    return figure
