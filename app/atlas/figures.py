"""The atlas's table and its picture: accuracy against multiply-adds, each bubble's area the
network's parameters (Canziani et al. 2016's figure), or against this machine's latency."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from app.atlas.catalog import Architecture
from app.atlas.cost import Cost
from app.atlas.latency import Latency
from app.figures.palette import series_colour

KINDS = ("CNN", "transformer", "MLP")
BUBBLE_PX = 48  # the largest bubble's diameter
PLOT_PX = (780, 110)  # the plot's width on a 1280 px screen, and the height its margins and axes take


def atlas_rows(architectures: list[Architecture], costs: dict[str, Cost], top1: dict[str, float | None],
               latencies: dict[tuple[str, int], Latency], status: dict[str, str],
               fields: dict[str, int | None]) -> list[dict[str, object]]:
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
            "Receptive field (px)": ("" if arch.key not in fields else "whole image" if fields[arch.key] is None
                                     else f"{fields[arch.key]:,}"),
            "ImageNet top-1 (%)": top1.get(arch.key),
            "Latency, batch 1 (ms)": one.seconds * 1e3 if one else None,
            "Images/s, batch 32": many.images_per_s if many else None,
            "Weights": status.get(arch.key, "architecture only"),
        })
    return rows


POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right", "top left")
CHAR_PX, LINE_PX = 7.0, 16.0  # a 12 px label's average character width and line height


def label_positions(x: list[float], y: list[float], diameters_px: list[float], texts: list[str],
                    plot_px: tuple[float, float]) -> list[str]:
    """Where each point's label goes (plotly's textposition) so that labels overlap neither
    each other nor the bubbles: greedy, largest bubble first, in pixels of a plot of `plot_px`
    (x on a log axis)."""
    width, height = plot_px
    lx = [math.log10(v) for v in x]
    (x0, x1), (y0, y1) = (min(lx), max(lx)), (min(y), max(y))
    px = [(v - x0) / ((x1 - x0) or 1) * width for v in lx]
    py = [(v - y0) / ((y1 - y0) or 1) * height for v in y]
    bubbles = [(cx - d / 2, cy - d / 2, cx + d / 2, cy + d / 2) for cx, cy, d in zip(px, py, diameters_px)]
    placed: list[tuple[float, float, float, float]] = []
    chosen = [POSITIONS[0]] * len(x)

    def box(i: int, position: str) -> tuple[float, float, float, float]:
        w, h, r = len(texts[i]) * CHAR_PX, LINE_PX, diameters_px[i] / 2
        vertical, horizontal = position.split()
        cy = py[i] + (r + h / 2 if vertical == "top" else -(r + h / 2) if vertical == "bottom" else 0)
        cx = px[i] + ({"center": 0, "right": r + w / 2, "left": -(r + w / 2)}[horizontal]
                      if vertical == "middle" else {"center": 0, "right": w / 2, "left": -w / 2}[horizontal])
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2

    def overlap(a, b) -> float:
        return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))

    for i in sorted(range(len(x)), key=lambda k: -diameters_px[k]):
        others = placed + [b for k, b in enumerate(bubbles) if k != i]
        costs = [sum(overlap(box(i, p), o) for o in others) for p in POSITIONS]
        best = costs.index(min(costs))
        chosen[i] = POSITIONS[best]
        placed.append(box(i, POSITIONS[best]))
    return chosen


def cost_figure(architectures: list[Architecture], costs: dict[str, Cost], top1: dict[str, float | None],
                latencies: dict[tuple[str, int], Latency] | None = None, height: int = 520) -> go.Figure:
    """Top-1 against GMACs (log), or against latency at batch 1 when `latencies` is given; each
    point's customdata is the architecture's key (a click opens it)."""
    figure = go.Figure()
    largest = max((c.parameters for c in costs.values()), default=1)
    shown = [a for a in architectures if top1.get(a.key) is not None and a.key in costs
             and (latencies is None or (a.key, 1) in latencies)]
    x_of = {a.key: latencies[(a.key, 1)].seconds * 1e3 if latencies is not None else costs[a.key].macs / 1e9
            for a in shown}
    diameter = {a.key: BUBBLE_PX * math.sqrt(costs[a.key].parameters / largest) for a in shown}
    where = dict(zip([a.key for a in shown], label_positions(
        [x_of[a.key] for a in shown], [top1[a.key] for a in shown], [diameter[a.key] for a in shown],
        [a.title for a in shown], (PLOT_PX[0], height - PLOT_PX[1]))))
    for index, kind in enumerate(KINDS):
        of_kind = [a for a in shown if a.kind == kind]
        if not of_kind:
            continue
        params = [costs[a.key].parameters / 1e6 for a in of_kind]
        figure.add_trace(go.Scatter(
            x=[x_of[a.key] for a in of_kind], y=[top1[a.key] for a in of_kind], mode="markers+text", name=kind,
            text=[a.title for a in of_kind], textposition=[where[a.key] for a in of_kind], textfont=dict(size=12),
            customdata=[[a.key, p] for a, p in zip(of_kind, params)],
            marker=dict(size=[costs[a.key].parameters for a in of_kind], sizemode="area",
                        sizeref=2 * largest / BUBBLE_PX ** 2, sizemin=4, color=series_colour(index), opacity=0.6,
                        line=dict(width=1, color="white")),
            hovertemplate="%{text}<br>%{x:.3g} " + ("ms" if latencies is not None else "GMACs") +
                          "<br>top-1 %{y:.1f} %<br>%{customdata[1]:.1f} M parameters<extra></extra>"))
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.06),
                         xaxis=dict(type="log", title="latency at batch 1 on this machine (ms)" if latencies is not None
                                    else "multiply-adds per 224² image (GMACs; Inception v3: 299²)"),
                         yaxis=dict(title="ImageNet top-1 (%) of the framework's weights"))
    if shown:  # room for the outermost labels (plotly takes a log axis's range in decades)
        low, high = math.log10(min(x_of.values())), math.log10(max(x_of.values()))
        accuracies = [top1[a.key] for a in shown]
        figure.update_xaxes(range=[low - 0.3, high + 0.2])
        figure.update_yaxes(range=[min(accuracies) - 2.5, max(accuracies) + 2.5])
    return figure

