"""A training run as text and bytes for the workspace store, and back.

The configuration, the data it was split from, the metrics (in batches, as they come), the
end-of-run figures as JSON; parameter snapshots as safetensors (tensors only: nothing in a
stored file is ever run as code).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from app.training.augment import Augmentation
from app.training.loop import Histogram, Metric, StepMetric, TrainingConfig, ValidationMetric


@dataclasses.dataclass(frozen=True)
class DataChoice:
    """What a run's split was made from: enough to make the same split again."""
    dataset: str
    validation: int
    subset: int | None
    train_images: int
    validation_images: int


def config_text(config: TrainingConfig) -> str:
    return json.dumps(dataclasses.asdict(config))


def config_from(text: str) -> TrainingConfig:
    fields = json.loads(text)
    fields["augmentation"] = Augmentation(**fields["augmentation"])
    return TrainingConfig(**fields)


def data_text(choice: DataChoice) -> str:
    return json.dumps(dataclasses.asdict(choice))


def data_from(text: str) -> DataChoice:
    return DataChoice(**json.loads(text))


def metrics_text(metrics: list[Metric]) -> str:
    """One batch of metrics, in the order they came."""
    rows = []
    for metric in metrics:
        if isinstance(metric, StepMetric):
            rows.append(["step", metric.step, metric.epoch, metric.loss, metric.accuracy, metric.learning_rate])
        elif isinstance(metric, ValidationMetric):
            rows.append(["validation", metric.step, metric.epoch, metric.loss, metric.accuracy])
        else:
            rows.append(["histogram", metric.step, metric.counts.tolist(), metric.mean, metric.std])
    return json.dumps(rows)


def metrics_from(chunks: tuple[str, ...]) -> list[Metric]:
    metrics: list[Metric] = []
    for chunk in chunks:
        for kind, *fields in json.loads(chunk):
            if kind == "step":
                metrics.append(StepMetric(*fields))
            elif kind == "validation":
                metrics.append(ValidationMetric(*fields))
            elif kind == "histogram":
                step, counts, mean, std = fields
                metrics.append(Histogram(step, np.asarray(counts, dtype=np.int64), mean, std))
            else:
                raise ValueError(f"unknown metric kind {kind!r}")
    return metrics


def result_text(confusion: np.ndarray, wrong: list[tuple[int, int, int, float]], stopped_early: bool,
                steps: int) -> str:
    return json.dumps({"confusion": confusion.tolist(), "wrong": wrong, "stopped_early": stopped_early,
                       "steps": steps})


def result_from(text: str) -> dict:
    fields = json.loads(text)
    fields["confusion"] = np.asarray(fields["confusion"], dtype=np.int64)
    fields["wrong"] = [tuple(w) for w in fields["wrong"]]
    return fields


def state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    # safetensors refuses tensors that share memory; a checkpoint is a copy per tensor anyway.
    return save_tensors({name: tensor.contiguous() for name, tensor in state.items()})


def state_from(data: bytes) -> dict[str, torch.Tensor]:
    return load_tensors(data)
