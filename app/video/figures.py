"""The video page's figures: the clip's frames on a timeline, and the trained networks' accuracies
against chance."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.figures.mosaic import tiled
from app.figures.palette import BLUE, RED
from app.figures.plot_images import image_trace, labelled_tiles, picture_layout, resized_view


def frames_figure(frames: np.ndarray, times: np.ndarray, most: int = 8, tile_width: int = 200) -> go.Figure:
    """Up to `most` frames, evenly spaced, side by side as one picture, each labelled with its time:
    one image trace of frames shrunk to `tile_width` px (twice what a projector shows of them),
    where subplots cost a tenth of a second at eight frames."""
    picked = np.unique(np.rint(np.linspace(0, len(frames) - 1, min(most, len(frames)))).astype(int))
    shown = frames[picked]
    if shown.shape[2] > tile_width:
        height = max(1, round(shown.shape[1] * tile_width / shown.shape[2]))
        shrunk = np.stack([resized_view(frame, height, tile_width) for frame in shown])
        shown = np.clip(np.rint(shrunk), 0, 255).astype(np.uint8)
    strip = tiled(shown, cols=len(picked), gap=max(2, shown.shape[2] // 40))
    pitch = strip.rgb.shape[1] / len(picked)
    figure = picture_layout(go.Figure(image_trace(strip.rgb, "frames")), strip.rgb.shape[1], strip.rgb.shape[0])
    figure.update_xaxes(visible=True, side="top", showgrid=False, zeroline=False, showline=False, ticks="",
                        tickvals=[(i + 0.5) * pitch for i in range(len(picked))],
                        ticktext=[f"{times[i]:.2f} s" for i in picked], tickfont=dict(size=15))
    figure.update_layout(margin=dict(l=0, r=0, t=30, b=0),
                         height=30 + round(800 * strip.rgb.shape[0] / strip.rgb.shape[1]))
    return figure


def accuracy_figure(titles: list[str], accuracies: list[float], chance: float) -> go.Figure:
    """Horizontal bars of test accuracy, a dashed line at chance."""
    figure = go.Figure(go.Bar(x=accuracies[::-1], y=titles[::-1], orientation="h", marker_color=BLUE,
                              text=[f"{a:.1%}" for a in accuracies[::-1]], textposition="auto",
                              hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    figure.add_vline(x=chance, line=dict(color=RED, dash="dash", width=2), annotation_text=f"chance {chance:.0%}",
                     annotation_position="top")
    figure.update_layout(xaxis=dict(range=[0, 1], tickformat=".0%", title="accuracy on the 1,000 test clips"),
                         yaxis=dict(automargin=True), height=90 + 44 * len(titles),
                         margin=dict(l=10, r=10, t=30, b=40), font=dict(size=15))
    return figure


QUERY_COLOUR = (31, 119, 180)
STEP_COLOURS = ((245, 133, 24), (84, 162, 75), (228, 87, 86))  # the first, second and third step's keys


def tinted_cells(frame: np.ndarray, masks: list[np.ndarray], query: tuple[int, int] | None,
                 opacity: float = 0.55) -> np.ndarray:
    """`frame` (H, W, 3) with the grid cells of each step's (rows, cols) mask tinted in its colour
    (a cell in several steps takes the later one's), and the query's cell in blue."""
    height, width = frame.shape[:2]
    rows, cols = masks[0].shape if masks else (1, 1)
    ys = np.minimum(np.arange(height) * rows // height, rows - 1)
    xs = np.minimum(np.arange(width) * cols // width, cols - 1)
    out = frame.astype(np.float32)
    for mask, colour in zip(masks, STEP_COLOURS):
        cells = mask[ys][:, xs]
        out[cells] = (1 - opacity) * out[cells] + opacity * np.array(colour, np.float32)
    if query is not None:
        cells = (ys[:, None] == query[0]) & (xs[None, :] == query[1])
        out[cells] = np.array(QUERY_COLOUR, np.float32)
    return np.rint(out).astype(np.uint8)


def schemes_figure(frames: np.ndarray, grid: tuple[int, int], query: tuple[int, int, int], schemes: dict[str, str],
                   neighbourhoods: dict[str, dict[str, np.ndarray]], tile: int = 168) -> go.Figure:
    """The paper's Figure 2 on the clip: a column per scheme (`schemes`: key → short title), a row
    per frame (the query's and its neighbours), the query's patch blue and each step's keys in
    its colour."""
    qt = query[0]
    shown = [t for t in (qt - 1, qt, qt + 1) if 0 <= t < len(frames)]
    tiles, labels = [], []
    for t in shown:
        for key, title in schemes.items():
            steps = list(neighbourhoods[key].values())
            labels.append(f"{title} · frame {t + 1}")
            tinted = tinted_cells(frames[t], [mask[t] for mask in steps], query[1:] if t == qt else None)
            # One picture of fifteen, each shrunk to what a stretched chart shows of it: a tenth of
            # the time of fifteen subplots.
            tiles.append(np.clip(np.rint(resized_view(tinted, tile, tile)), 0, 255).astype(np.uint8))
    return labelled_tiles(np.stack(tiles), labels, cols=len(schemes), gap=4)
