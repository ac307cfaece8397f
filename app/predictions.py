"""A classifier's answer: its top classes with their probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.serving.model_lock import shared_use


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


def top_k(logits: torch.Tensor, class_names: tuple[str, ...], k: int = 5) -> list[Prediction]:
    """The k most probable classes of one image's logits (1, C) or (C,)."""
    probabilities = torch.softmax(logits.reshape(-1).float(), dim=0)
    values, indices = probabilities.topk(k)
    return [
        Prediction(index=int(i), label=class_names[int(i)], probability=float(p))
        for p, i in zip(values.tolist(), indices.tolist())
    ]


def classify(model: torch.nn.Module, batch: torch.Tensor, class_names: tuple[str, ...], k: int = 5) -> list[Prediction]:
    """Runs `model` on a preprocessed (1, 3, S, S) batch on the model's device."""
    device = next(model.parameters()).device
    with shared_use(model), torch.inference_mode():
        logits = model(batch.to(device))
    return top_k(logits, class_names, k)
