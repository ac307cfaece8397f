"""Figures of live training: smoothed curves with the generalisation gap, run labels
and table, confusion matrix, confidently wrong images, batch norm's probe, an
augmented batch."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import torch

from app.augment import Augmentation, augment
from app.optimizer_figures import PALETTE
from app.plot_images import image_trace, picture_layout
from app.training import HISTOGRAM_BINS, TrainingConfig
from app.training_runs import Snapshot


def debiased_ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """TensorBoard's smoothing: s_t = βs_{t−1} + (1−β)x_t from s_0 = 0, divided by
    1 − β^t so the first points are not pulled towards 0."""
    smoothed, running = np.empty(len(values)), 0.0
    for t, value in enumerate(values, start=1):
        running = smoothing * running + (1 - smoothing) * value
        smoothed[t - 1] = running / (1 - smoothing ** t) if smoothing < 1 else value
    return smoothed


def difference_labels(configs: list[TrainingConfig]) -> list[str]:
    """Each run named by what sets it apart from the others ("BN on, dropout 0.5")."""
    fields = [f.name for f in dataclasses.fields(TrainingConfig) if f.name != "checkpoints"]
    varying = [name for name in fields if len({repr(getattr(c, name)) for c in configs}) > 1]

    def word(config: TrainingConfig, name: str) -> str:
        value = getattr(config, name)
        if name == "batch_norm":
            return "BN on" if value else "BN off"
        if name == "skip_connections":
            return "skips" if value else "no skips"
        if name == "augmentation":
            return f"aug: {value.describe()}"
        if name in ("model", "optimizer", "schedule"):
            return str(value)
        return f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else f"{name.replace('_', ' ')} {value}"

    if not varying:  # one run, or identical ones: name the settings that matter most
        return [f"{c.model}, {word(c, 'batch_norm')}, {c.optimizer}" for c in configs]
    return [", ".join(word(c, name) for name in varying) for c in configs]


def curves_figure(snapshots: list[Snapshot], labels: list[str], metric: str, smoothing: float) -> go.Figure:
    """Training (smoothed; raw faint) and validation per epoch, every run overlaid;
    the gap between a run's smoothed training curve and its validation curve shaded."""
    figure = go.Figure()
    for index, (snapshot, label) in enumerate(zip(snapshots, labels)):
        color = PALETTE[index % len(PALETTE)]
        if not snapshot.steps:
            continue
        epochs = np.array([s.epoch for s in snapshot.steps])
        raw = np.array([getattr(s, metric) for s in snapshot.steps])
        smooth = debiased_ema(raw, smoothing)
        figure.add_trace(go.Scatter(x=epochs, y=raw, mode="lines", line=dict(color=color, width=1), opacity=0.25,
                                    showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=epochs, y=smooth, mode="lines", name=f"{label} · train",
                                    line=dict(color=color, width=2), legendgroup=label))
        if snapshot.validations:
            val_epochs = np.array([v.epoch for v in snapshot.validations])
            val = np.array([getattr(v, metric) for v in snapshot.validations])
            train_at_val = np.interp(val_epochs, epochs, smooth)
            # The generalisation gap: a band from the training curve to the validation curve.
            figure.add_trace(go.Scatter(x=np.concatenate([val_epochs, val_epochs[::-1]]),
                                        y=np.concatenate([train_at_val, val[::-1]]), fill="toself",
                                        fillcolor=color, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                                        showlegend=False, legendgroup=label))
            figure.add_trace(go.Scatter(x=val_epochs, y=val, mode="lines+markers", name=f"{label} · validation",
                                        line=dict(color=color, width=2, dash="dash"), legendgroup=label))
    title = {"loss": "cross-entropy loss", "accuracy": "accuracy"}[metric]
    figure.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.2),
                         xaxis_title="epoch", yaxis=dict(title=title, tickformat=".0%" if metric == "accuracy" else None))
    return figure


def run_table(snapshots: list[Snapshot], labels: list[str]) -> list[dict[str, object]]:
    rows = []
    for snapshot, label in zip(snapshots, labels):
        config = snapshot.config
        last_train = snapshot.steps[-1] if snapshot.steps else None
        last_val = snapshot.validations[-1] if snapshot.validations else None
        rows.append({
            "Run": label, "Status": snapshot.status, "Model": config.model, "BN": config.batch_norm,
            "Dropout": config.dropout, "Augmentation": config.augmentation.describe(), "Optimizer": config.optimizer,
            "LR": config.learning_rate, "Epoch": round(last_train.epoch, 2) if last_train else 0.0,
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
                        classes: tuple[str, ...], scale: int = 3) -> go.Figure:
    """The most confidently wrong validation images, with truth and prediction."""
    count = len(wrong)
    cols = min(8, max(1, count))
    rows = max(1, -(-count // cols))
    _, channels, height, width = images.shape
    pitch_h, pitch_w = height * scale + 4, width * scale + 4
    canvas = np.full((rows * pitch_h, cols * pitch_w, 3), 255, np.uint8)
    annotations = []
    for position, (index, truth, predicted, probability) in enumerate(wrong):
        picture = (images[index].float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        picture = picture.expand(3, -1, -1) if channels == 1 else picture
        enlarged = picture.permute(1, 2, 0).numpy().repeat(scale, 0).repeat(scale, 1)
        row, col = divmod(position, cols)
        canvas[row * pitch_h: row * pitch_h + height * scale, col * pitch_w: col * pitch_w + width * scale] = enlarged
        annotations.append(dict(x=col * pitch_w + width * scale / 2, y=row * pitch_h + height * scale, yanchor="top",
                                text=f"{classes[truth]} → {classes[predicted]} {probability:.0%}", showarrow=False,
                                font=dict(size=10)))
    figure = go.Figure(image_trace(canvas))
    picture_layout(figure, canvas.shape[1], canvas.shape[0] + 14, None, 120 + rows * 130)
    figure.update_layout(annotations=annotations)
    return figure


def probe_figure(snapshot: Snapshot, label: str, zmax: float | None = None) -> go.Figure:
    """How the probe layer's pre-activations are distributed over training: one
    column per measurement, share of values per bin as colour, mean ± std as lines."""
    histograms = snapshot.histograms
    steps = [h.step for h in histograms]
    shares = np.array([h.counts / max(h.counts.sum(), 1) for h in histograms]).T  # (bins, times)
    centres = (HISTOGRAM_BINS[:-1] + HISTOGRAM_BINS[1:]) / 2
    figure = go.Figure(go.Heatmap(x=steps, y=centres, z=shares, colorscale="Blues", zmin=0, zmax=zmax,
                                  colorbar=dict(title="share", thickness=10),
                                  hovertemplate="step %{x}, value %{y:.1f}: %{z:.1%}<extra></extra>"))
    means = np.array([h.mean for h in histograms])
    stds = np.array([h.std for h in histograms])
    for values, name in ((means, "mean"), (means + stds, "mean ± std"), (means - stds, None)):
        figure.add_trace(go.Scatter(x=steps, y=np.clip(values, HISTOGRAM_BINS[0], HISTOGRAM_BINS[-1]), mode="lines",
                                    name=name, showlegend=name is not None,
                                    line=dict(color="#e45756", width=2 if name == "mean" else 1,
                                              dash="solid" if name == "mean" else "dot")))
    figure.update_layout(title=label, height=320, margin=dict(l=10, r=10, t=40, b=40), xaxis_title="step",
                         yaxis_title="pre-activation", legend=dict(orientation="h", y=-0.3))
    return figure


def augmentation_figure(images: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...],
                        augmentation: Augmentation, seed: int, count: int = 16, scale: int = 3) -> go.Figure:
    """The same few training images, as the network will see them after augmentation."""
    generator = torch.Generator().manual_seed(seed)
    batch = augment(images[:count].cpu(), augmentation, generator)
    wrong = [(i, int(labels[i]), int(labels[i]), 1.0) for i in range(len(batch))]
    figure = wrong_images_figure(batch, wrong, classes, scale)
    for annotation, (_, label, _, _) in zip(figure.layout.annotations, wrong):
        annotation.text = classes[label]
    return figure
