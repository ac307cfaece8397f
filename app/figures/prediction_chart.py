"""The top-k bar chart shown wherever a model classifies the current image."""

from __future__ import annotations

import plotly.graph_objects as go

from app.figures.palette import BLUE
from app.predictions import Prediction


def top_k_bar_chart(predictions: list[Prediction], title: str = "") -> go.Figure:
    """Horizontal bars, most probable on top, probabilities as percentages."""
    ordered = predictions[::-1]
    figure = go.Figure(
        go.Bar(
            x=[p.probability for p in ordered],
            y=[p.label for p in ordered],
            orientation="h",
            text=[f"{p.probability:.1%}" for p in ordered],
            textposition="auto",
            marker_color=BLUE,
            hovertemplate="%{y}: %{x:.2%} (class %{customdata})<extra></extra>",
            customdata=[p.index for p in ordered],
        )
    )
    figure.update_layout(
        title=title or None,
        xaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        yaxis=dict(automargin=True),
        height=80 + 36 * len(predictions),
        margin=dict(l=10, r=10, t=40 if title else 10, b=40),
    )
    return figure
