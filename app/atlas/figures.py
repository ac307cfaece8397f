"""The atlas's table and its picture: accuracy against multiply-adds, each bubble's area the
network's parameters (Canziani et al. 2016's figure), or against this machine's latency."""

from __future__ import annotations

import plotly.graph_objects as go

from app.atlas.catalog import Architecture
from app.atlas.cost import Cost
from app.atlas.latency import Latency
from app.figures.palette import series_colour

KINDS = ("CNN", "transformer", "MLP")
BUBBLE_PX = 48  # the largest bubble's diameter


def atlas_rows(architectures: list[Architecture], costs: dict[str, Cost], top1: dict[str, float | None],
               latencies: dict[tuple[str, int], Latency], status: dict[str, str]) -> list[dict[str, object]]:
    """One row per architecture, in the course's order; blanks where nothing is known yet."""
    rows = []
    for arch in architectures:
        cost = costs.get(arch.key)
        one, many = latencies.get((arch.key, 1)), next(
            (v for (key, batch), v in latencies.items() if key == arch.key and batch > 1), None)
        rows.append({
            "Model": arch.title, "Year": arch.year, "Kind": arch.kind,
            "Depth (paper)": arch.depth,
            "Weight layers": cost.weight_layers if cost else None,
            "Parameters (M)": cost.parameters / 1e6 if cost else None,
            "GMACs": cost.macs / 1e9 if cost else None,
            "Input": f"{arch.input_size}²",
            "ImageNet top-1 (%)": top1.get(arch.key),
            "Latency, batch 1 (ms)": one.seconds * 1e3 if one else None,
            "Images/s, batch 32": many.images_per_s if many else None,
            "Weights": status.get(arch.key, "architecture only"),
        })
    return rows


def cost_figure(architectures: list[Architecture], costs: dict[str, Cost], top1: dict[str, float | None],
                latencies: dict[tuple[str, int], Latency] | None = None, height: int = 520) -> go.Figure:
    """Top-1 against GMACs (log), or against latency at batch 1 when `latencies` is given; each
    point's customdata is the architecture's key (a click opens it)."""
    figure = go.Figure()
    largest = max((c.parameters for c in costs.values()), default=1)
    for index, kind in enumerate(KINDS):
        shown = [a for a in architectures if a.kind == kind and top1.get(a.key) is not None and a.key in costs
                 and (latencies is None or (a.key, 1) in latencies)]
        if not shown:
            continue
        x = ([latencies[(a.key, 1)].seconds * 1e3 for a in shown] if latencies is not None
             else [costs[a.key].macs / 1e9 for a in shown])
        params = [costs[a.key].parameters / 1e6 for a in shown]
        figure.add_trace(go.Scatter(
            x=x, y=[top1[a.key] for a in shown], mode="markers+text", name=kind,
            text=[a.title for a in shown], textposition="top center", textfont=dict(size=12),
            customdata=[[a.key, p] for a, p in zip(shown, params)],
            marker=dict(size=[costs[a.key].parameters for a in shown], sizemode="area",
                        sizeref=2 * largest / BUBBLE_PX ** 2, sizemin=4, color=series_colour(index), opacity=0.6,
                        line=dict(width=1, color="white")),
            hovertemplate="%{text}<br>%{x:.3g} " + ("ms" if latencies is not None else "GMACs") +
                          "<br>top-1 %{y:.1f} %<br>%{customdata[1]:.1f} M parameters<extra></extra>"))
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.06),
                         xaxis=dict(type="log", title="latency at batch 1 on this machine (ms)" if latencies is not None
                                    else "multiply-adds per 224² image (GMACs; Inception v3: 299²)"),
                         yaxis=dict(title="ImageNet top-1 (%) of the framework's weights"))
    return figure

