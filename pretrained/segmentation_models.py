"""The small U-Nets this project trains on Fashion-MNIST scenes, so the dense-prediction page has
really trained models offline, with and without skip connections (the course's lesson).

    python -m recipes.train_segmentation_models    # writes the files and their card

Each file holds the weights (float32, buffers included) and, as metadata, the architecture's
settings and the scores on the test scenes; it is checked against its SHA-256 and read with
safetensors (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from pretrained.shipped_files import read_shipped, write_shipped


@dataclass(frozen=True)
class ShippedUNet:
    key: str
    title: str
    filename: str
    sha256: str | None
    settings: dict  # keyword arguments of app.segmentation.unet.UNet


SHIPPED = {m.key: m for m in (
    ShippedUNet("unet", "U-Net, skip connections", "scenes_unet.safetensors",
                "0bbda8b5f6c4aaef217a9dc4db58cf126cc41523ab55feb4808c1f9e720622dd",
                {"widths": [16, 32, 64, 128], "skips": True}),
    ShippedUNet("unet_noskip", "U-Net, no skip connections", "scenes_unet_noskip.safetensors",
                "9d40ba9310c432f57b071c0ae82c2fdcef40fd92e9be634bfbf22e2e86736632",
                {"widths": [16, 32, 64, 128], "skips": False}),
    ShippedUNet("unet_bilinear", "U-Net, bilinear upsampling", "scenes_unet_bilinear.safetensors",
                "db302b087305cd4dfd84df1ca731922cd3b5033a13ad1e454c98ba1330c94e51",
                {"widths": [16, 32, 64, 128], "skips": True, "upsampling": "bilinear"}),
)}


@dataclass(frozen=True, eq=False)
class TrainedUNet:
    title: str
    settings: dict
    state: dict[str, torch.Tensor]
    scores: dict[str, float]  # on the test scenes: "miou", "boundary_f"


def save(file, title: str, settings: dict, state: dict, scores: dict) -> None:
    write_shipped(file, state, {"title": title, "settings": json.dumps(settings), "scores": json.dumps(scores)})


def load(key: str) -> TrainedUNet:
    """Reads a shipped U-Net, verified against its recorded SHA-256."""
    shipped = SHIPPED[key]
    metadata, state = read_shipped(shipped.filename, shipped.sha256, "recipes.train_segmentation_models")
    return TrainedUNet(metadata["title"], json.loads(metadata["settings"]), state, json.loads(metadata["scores"]))
