"""The small video networks this project trains on Moving Fashion-MNIST (a garment moving or
turning; the label is the motion), so the video page has really trained models offline: one per
idea of the course's video chapter, from a 2D CNN on one frame to divided space-time attention.

    python -m recipes.train_motion_models    # writes the files and their card

Each file holds the weights (float32, buffers included) and, as metadata, the architecture, its
settings and the test accuracy; it is checked against its SHA-256 and read with safetensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from pretrained.shipped_files import read_shipped

RECIPE = "recipes.train_motion_models"


@dataclass(frozen=True)
class ShippedMotionModel:
    key: str  # also the architecture's key in app.video.motion_models.ARCHITECTURES
    title: str
    filename: str
    sha256: str


SHIPPED = {m.key: m for m in (
    ShippedMotionModel("frame_cnn", "2D CNN, middle frame only", "motion_frame_cnn.safetensors",
                       "6b951f14328e05084374183bef74ddabf26f48c368ab4baba77a79174460cea5"),
    ShippedMotionModel("c3d", "3D CNN (C3D-style)", "motion_c3d.safetensors",
                       "7fe35b15923f5b58adc5c206f14343da23403218ebfd5bb26a7a7ce8d7a7f831"),
    ShippedMotionModel("two_stream", "Two-stream (frame + frame differences)", "motion_two_stream.safetensors",
                       "48b17fb2f72888005dfbcf0ea95aa3ff248b270d8fd692b37b410c46886ca177"),
    ShippedMotionModel("slowfast", "SlowFast-style (α = 4, β = 4)", "motion_slowfast.safetensors",
                       "d84d147af88964d74f28644e4594620b6625ac55367990d9b6407f950ed0a562"),
    ShippedMotionModel("divided_st", "Divided space-time attention (T+S)", "motion_divided_st.safetensors",
                       "488620870e07ead84f67f5aa5e439ba99a5c8e6ccde4db7661585b9dbea10702"),
)}


@dataclass(frozen=True, eq=False)
class TrainedMotionModel:
    title: str
    settings: dict  # keyword arguments of the architecture
    state: dict[str, torch.Tensor]
    accuracy: float  # on the 1,000 test clips


def load(key: str) -> TrainedMotionModel:
    """Reads a shipped network, verified against its recorded SHA-256."""
    shipped = SHIPPED[key]
    metadata, state = read_shipped(shipped.filename, shipped.sha256, RECIPE)
    return TrainedMotionModel(metadata["title"], json.loads(metadata["settings"]), state, float(metadata["accuracy"]))
