"""The small DETR as the page runs it: the shipped, verified weights, or seeded random ones and
the reason when the file is missing or fails its check."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.detection.tiny_detr import DetrSettings, TinyDetr
from pretrained.detection_models import RECIPE, load


@dataclass(frozen=True, eq=False)
class ShippedTinyDetr:
    model: TinyDetr
    map50: float | None  # the card's test mAP@0.5; None when untrained
    minutes: float | None
    problem: str | None  # why it is untrained

    @property
    def trained(self) -> bool:
        return self.problem is None


def shipped_tiny_detr() -> ShippedTinyDetr:
    with torch.inference_mode(False):  # normal tensors even for a first caller in inference mode
        try:
            trained = load()
        except (OSError, ValueError) as exc:  # missing, or failing its check (ChecksumMismatch, UnverifiedFile)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                untrained = TinyDetr()
            return ShippedTinyDetr(untrained.eval().requires_grad_(False), None, None,
                                   f"{exc} (train it with `python -m {RECIPE}`)")
        model = TinyDetr(DetrSettings(**trained.settings))
        model.load_state_dict(trained.state)
    return ShippedTinyDetr(model.eval().requires_grad_(False), trained.map50, trained.minutes, None)
