"""Figures of live training: smoothed curves with the generalisation gap, run labels
and table, confusion matrix, confidently wrong images, batch norm's probe, an
augmented batch."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from app.figures.captioned_grid import captioned_grid
from app.figures.palette import RED, series_colour
from app.training.augment import Augmentation, augment
from app.training.datasets import SplitSummary
from app.training.loop import HISTOGRAM_BINS, TrainingConfig, settled
from app.training.runs import RunSnapshot


def debiased_ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """TensorBoard's smoothing: s_t = βs_{t−1} + (1−β)x_t from s_0 = 0, divided by
    1 − β^t so the first points are not pulled towards 0."""
    smoothed, running = np.empty(len(values)), 0.0
    for t, value in enumerate(values, start=1):
        running = smoothing * running + (1 - smoothing) * value
        smoothed[t - 1] = running / (1 - smoothing ** t) if smoothing < 1 else value
    return smoothed


def _run_fields(config: TrainingConfig, data: SplitSummary) -> dict[str, object]:
    """What sets a run apart: its data, and its settings that its network has."""
    config = settled(config)
    return {**dataclasses.asdict(data), **{f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                                           if f.name != "checkpoints"}}


def difference_labels(configs: list[TrainingConfig], data: list[SplitSummary]) -> list[str]:
    """Each run named by what sets it apart from the others ("BN on, dropout 0.5"), its
    data included; a setting its network does not have (skips in an MLP) is never named."""
    runs = [_run_fields(config, summary) for config, summary in zip(configs, data)]
    varying = [name for name in runs[0] if len({repr(run[name]) for run in runs}) > 1]

    def word(run: dict[str, object], name: str) -> str:
        value = run[name]
        if name == "batch_norm":
            return "BN on" if value else "BN off"
        if name == "skip_connections":
            return "skips" if value else "no skips"
        if name == "augmentation":
            return f"aug: {value.describe()}"
        if name in ("model", "optimizer", "schedule", "dataset"):
            return str(value)
        if name in ("train_images", "validation_images"):
            return f"{value:,} {name.split('_')[0]} images"
        return f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else f"{name.replace('_', ' ')} {value}"

    if not varying:  # one run, or identical ones: name the settings that matter most
        varying = ["model", "batch_norm", "optimizer"]
    return [", ".join(word(run, name) for name in varying if run[name] is not None) for run in runs]


LEGEND_ROW_PX = 22
PLOT_PX = 380  # the curves' plotting area, tall enough to read a gap on a projector
ASSUMED_LEGEND_PX = 700  # narrower than the chart at 1280 px, so the legend's rows are not underestimated


def _legend_rows(names: list[str]) -> int:
    """Rows a horizontal legend of these names wraps into, at most ASSUMED_LEGEND_PX wide."""
    rows, used = 1, 0.0
    for name in names:
        width = 50 + 7.5 * len(name)  # line sample, gap and text at plotly's 12 px font
        if used and used + width > ASSUMED_LEGEND_PX:
            rows, used = rows + 1, 0.0
        used += width
    return rows


def curves_figure(snapshots: list[RunSnapshot], labels: list[str], smoothing: float) -> go.Figure:
    """Loss and accuracy side by side, every run overlaid: training smoothed (raw
    faint, solid), validation per epoch (dashed), the gap between them shaded. The
    legend names each run once, below the plots, in a margin sized for its rows."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.08)
    for index, (snapshot, label) in enumerate(zip(snapshots, labels)):
        if not snapshot.steps:
            continue
        color = series_colour(index)
        for col, metric in enumerate(("loss", "accuracy"), start=1):
            for trace in _run_traces(snapshot, metric, smoothing, color, label, legend=col == 1):
                figure.add_trace(trace, row=1, col=col)
    for name, dash in (("training (smoothed)", None), ("validation", "dash")):
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name, legendgroup="key",
                                    line=dict(color="#666", width=2, dash=dash)), row=1, col=1)
    names = [t.name for t in figure.data if t.showlegend is not False]
    bottom = 56 + LEGEND_ROW_PX * _legend_rows(names)  # tick labels and the axis title, then the legend
    figure.update_layout(height=PLOT_PX + 30 + bottom, margin=dict(l=10, r=10, t=30, b=bottom),
                         legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"))
    figure.update_xaxes(title="epoch")
    figure.update_yaxes(title="cross-entropy loss", row=1, col=1)
    figure.update_yaxes(title="accuracy", tickformat=".0%", row=1, col=2)
    return figure


def _run_traces(snapshot: RunSnapshot, metric: str, smoothing: float, color: str, label: str,
                legend: bool) -> list[go.Scatter]:
    """One run's curves of `metric`, all in the run's legend group; only the smoothed
    training curve in the legend (when `legend`), standing for the run."""
    epochs = np.array([s.epoch for s in snapshot.steps])
    raw = np.array([getattr(s, metric) for s in snapshot.steps])
    smooth = debiased_ema(raw, smoothing)
    traces = [go.Scatter(x=epochs, y=raw, mode="lines", line=dict(color=color, width=1), opacity=0.25,
                         hoverinfo="skip"),
              go.Scatter(x=epochs, y=smooth, mode="lines", line=dict(color=color, width=2), showlegend=legend)]
    if snapshot.validations:
        val_epochs = np.array([v.epoch for v in snapshot.validations])
        val = np.array([getattr(v, metric) for v in snapshot.validations])
        train_at_val = np.interp(val_epochs, epochs, smooth)
        # The generalisation gap: a band from the training curve to the validation curve.
        traces += [go.Scatter(x=np.concatenate([val_epochs, val_epochs[::-1]]),
                              y=np.concatenate([train_at_val, val[::-1]]), fill="toself", fillcolor=color,
                              opacity=0.15, line=dict(width=0), hoverinfo="skip"),
                   go.Scatter(x=val_epochs, y=val, mode="lines+markers", line=dict(color=color, width=2, dash="dash"))]
    for trace in traces:
        trace.update(name=label, legendgroup=label, showlegend=trace.showlegend or False)
    return traces


def run_table(snapshots: list[RunSnapshot], labels: list[str]) -> list[dict[str, object]]:
    rows = []
    for snapshot, label in zip(snapshots, labels):
        config = snapshot.config
        last_train = snapshot.steps[-1] if snapshot.steps else None
        last_val = snapshot.validations[-1] if snapshot.validations else None
        rows.append({
            "Run": label, "Status": snapshot.status, "Dataset": snapshot.data.dataset,
            "Train / val images": f"{snapshot.data.train_images:,} / {snapshot.data.validation_images:,}",
            "Model": config.model, "BN": config.batch_norm,
            "Dropout": config.dropout, "Augmentation": config.augmentation.describe(), "Optimizer": config.optimizer,
            "LR": config.learning_rate, "Epoch": f"{last_train.epoch if last_train else 0:.2f} of {config.epochs}",
            "Train loss": last_train.loss if last_train else None,
            "Val loss": last_val.loss if last_val else None,
            "Val accuracy": last_val.accuracy if last_val else None,
            "Steps/s": round(len(snapshot.steps) / snapshot.seconds, 1) if snapshot.seconds else None,
        })
    return rows


def confusion_figure(confusion: np.ndarray, classes: tuple[str, ...]) -> go.Figure:
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    figure = go.Figure(go.Heatmap(z=share, x=list(classes), y=list(classes), colorscale="Blues", zmin=0, zmax=1,
                                  text=confusion, texttemplate="%{text}", customdata=confusion,
                                  hovertemplate="true %{y}, predicted %{x}: %{customdata} (%{z:.0%})<extra></extra>"))
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="predicted",
                         yaxis=dict(title="true", autorange="reversed"))
    return figure


def wrong_images_figure(images: torch.Tensor, wrong: list[tuple[int, int, int, float]],
                        classes: tuple[str, ...]) -> go.Figure:
    """The most confidently wrong validation images, with truth and prediction."""
    return captioned_grid(images[[index for index, *_ in wrong]],
                          [f"{classes[truth]}<br>→ {classes[predicted]} {probability:.0%}"
                           for _, truth, predicted, probability in wrong])


def epochs_trained(snapshot: RunSnapshot) -> float:
    return snapshot.steps[-1].epoch if snapshot.steps else 0.0


def probe_figure(snapshot: RunSnapshot, label: str, zmax: float | None = None,
                 epochs_shown: float | None = None) -> go.Figure:
    """How the probe layer's pre-activations are distributed over training: one
    column per measurement, share of values per bin as colour, mean ± std as lines;
    x in epochs, from 0 to `epochs_shown` (so that runs side by side share their x range)."""
    histograms = snapshot.histograms
    steps_per_epoch = math.ceil(snapshot.data.train_images / snapshot.config.batch_size)
    epochs = [h.step / steps_per_epoch for h in histograms]
    shares = np.array([h.counts / max(h.counts.sum(), 1) for h in histograms]).T  # (bins, times)
    centres = (HISTOGRAM_BINS[:-1] + HISTOGRAM_BINS[1:]) / 2
    figure = go.Figure(go.Heatmap(x=epochs, y=centres, z=shares, colorscale="Blues", zmin=0, zmax=zmax,
                                  colorbar=dict(title="share", thickness=10),
                                  hovertemplate="epoch %{x:.2f}, value %{y:.1f}: %{z:.1%}<extra></extra>"))
    means = np.array([h.mean for h in histograms])
    stds = np.array([h.std for h in histograms])
    for values, name in ((means, "mean"), (means + stds, "mean ± std"), (means - stds, None)):
        figure.add_trace(go.Scatter(x=epochs, y=np.clip(values, HISTOGRAM_BINS[0], HISTOGRAM_BINS[-1]), mode="lines",
                                    name=name, showlegend=name is not None,
                                    line=dict(color=RED, width=2 if name == "mean" else 1,
                                              dash="solid" if name == "mean" else "dot")))
    shown = epochs_shown or max(epochs, default=1.0)
    half_column = (epochs[-1] - epochs[0]) / max(len(epochs) - 1, 1) / 2 if epochs else 0.0  # whole end columns
    figure.update_layout(title=label, height=400, margin=dict(l=10, r=10, t=40, b=80),
                         xaxis=dict(title="epoch", range=[-half_column, shown + half_column]),
                         yaxis_title="pre-activation",
                         legend=dict(orientation="h", yref="container", y=0, yanchor="bottom"))
    return figure


def probe_partner(chosen: RunSnapshot, others: list[RunSnapshot]) -> RunSnapshot | None:
    """The run to show beside `chosen` in the probe: batch norm the other way, and
    otherwise as alike as there is (fewest other differences; the latest on a tie)."""
    def differences(other: RunSnapshot) -> int:
        mine, theirs = _run_fields(chosen.config, chosen.data), _run_fields(other.config, other.data)
        return sum(repr(mine[name]) != repr(theirs[name]) for name in mine)

    candidates = [s for s in others if s.config.batch_norm != chosen.config.batch_norm]
    return min(reversed(candidates), key=differences, default=None)


def probe_drift(snapshots: list[RunSnapshot], labels: list[str]) -> str:
    """How each run's probe moved from the first measurement to the last, in numbers."""
    return "; ".join(f"{label}: mean {s.histograms[0].mean:.2f} → {s.histograms[-1].mean:.2f}, "
                     f"std {s.histograms[0].std:.2f} → {s.histograms[-1].std:.2f}"
                     for s, label in zip(snapshots, labels) if s.histograms)


def probe_span_note(snapshots: list[RunSnapshot], labels: list[str]) -> str | None:
    """Says how long each of the runs compared trained, when they did not train alike."""
    spans = [(epochs_trained(s), len(s.steps)) for s in snapshots]
    if len(set(spans)) < 2:
        return None
    described = "; ".join(f"{label}: {epochs:.3g} epochs ({steps:,} steps)"
                          for label, (epochs, steps) in zip(labels, spans))
    return (f"The runs trained for different lengths ({described}). Both pictures share the x range "
            f"0–{max(e for e, _ in spans):.3g} epochs, so the shorter run's picture ends early.")


def augmentation_figure(images: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...],
                        augmentation: Augmentation, seed: int, count: int = 16) -> go.Figure:
    """The same few training images, as the network will see them after augmentation."""
    generator = torch.Generator().manual_seed(seed)
    batch = augment(images[:count].cpu(), augmentation, generator)
    return captioned_grid(batch, [classes[int(label)] for label in labels[:count]])
