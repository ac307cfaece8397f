"""DETR's pictures: boxes over the image (predicted solid, true dashed) and the matching's cost
matrix with the chosen pairs marked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.figures.palette import PALETTE
from app.figures.plot_images import Picture, image_trace, picture_size

TRUTH = "#ffffff"


def detections_figure(view: Picture, boxes: np.ndarray, labels: list[str], truth: np.ndarray | None = None,
                      height: int = 480, colours: list[str] | None = None) -> go.Figure:
    """An (H, W, 3) picture (or one already encoded); `boxes` (k, 4) x0, y0, x1, y1 in its pixels, each with its label;
    `truth` (m, 4) drawn dashed in white. The layout is built in one piece (plotly validates
    each update on its own, which costs more than drawing)."""
    rows, cols = picture_size(view)
    colours = colours or [PALETTE[i % len(PALETTE)] for i in range(len(boxes))]
    shapes = [dict(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=colour, width=3))
              for (x0, y0, x1, y1), colour in zip(np.asarray(boxes, float), colours)]
    if truth is not None:
        shapes += [dict(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=TRUTH, width=2, dash="dash"))
                   for x0, y0, x1, y1 in np.asarray(truth, float)]
    annotations = [dict(x=x0, y=y0, text=label, showarrow=False, xanchor="left", yanchor="bottom",
                        font=dict(size=14, color="white"), bgcolor=colour)
                   for (x0, y0, _, _), label, colour in zip(np.asarray(boxes, float), labels, colours)]
    return go.Figure(data=[image_trace(view)], layout=dict(
        xaxis=dict(visible=False, range=[0, cols], constrain="domain"),
        yaxis=dict(visible=False, range=[rows, 0], scaleanchor="x", constrain="domain"),
        shapes=shapes, annotations=annotations, margin=dict(l=0, r=0, t=24, b=0), plot_bgcolor="white",
        dragmode="pan", height=height))


def cost_matrix_figure(total: np.ndarray, rows: np.ndarray, cols: np.ndarray, target_names: list[str],
                       height: int = 420) -> go.Figure:
    """The (queries, targets) total costs as a heatmap with each value written in its cell, the
    matched pairs outlined."""
    queries, targets = total.shape
    shapes = [dict(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line=dict(color="#e45756", width=4))
              for i, j in zip(rows, cols)]
    return go.Figure(data=[go.Heatmap(
        z=total, x=list(range(targets)), y=list(range(queries)), colorscale="Viridis", reversescale=True,
        text=[[f"{value:.2f}" for value in row] for row in total], texttemplate="%{text}", textfont=dict(size=13),
        colorbar=dict(title=dict(text="cost")),
        hovertemplate="query %{y} → target %{x}: cost %{z:.3f}<extra></extra>")], layout=dict(
        xaxis=dict(tickvals=list(range(targets)), ticktext=[f"{j}: {name}" for j, name in enumerate(target_names)],
                   side="top"),
        yaxis=dict(tickvals=list(range(queries)), ticktext=[f"query {i}" for i in range(queries)],
                   autorange="reversed"),
        shapes=shapes, margin=dict(l=0, r=0, t=40, b=0), height=height))
