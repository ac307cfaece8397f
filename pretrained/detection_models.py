"""The small DETR this project trains on Fashion-MNIST detection scenes, so the transformer page
has a really trained DETR offline.

    python -m recipes.train_tiny_detr    # writes the file and its card

The file holds the weights (float32, buffers included) and, as metadata, the settings, the test
mAP@0.5 and the training time; it is checked against its SHA-256 and read with safetensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from pretrained.shipped_files import read_shipped

RECIPE = "recipes.train_tiny_detr"


@dataclass(frozen=True)
class ShippedDetr:
    title: str
    filename: str
    sha256: str


SHIPPED = ShippedDetr("Tiny DETR (Fashion-MNIST scenes)", "tiny_detr_fmnist.safetensors",
                     "0eb5275b543b9506d2f872d8e0f5e9e6618d330923ffff1b1509206fcf7cd0d7")


@dataclass(frozen=True, eq=False)
class TrainedDetr:
    settings: dict
    state: dict[str, torch.Tensor]
    map50: float  # on the 1,000 test scenes
    minutes: float


def load() -> TrainedDetr:
    metadata, state = read_shipped(SHIPPED.filename, SHIPPED.sha256, RECIPE)
    return TrainedDetr(json.loads(metadata["settings"]), state, float(metadata["map50"]), float(metadata["minutes"]))
