"""A U-Net on one grey picture, as the dense-prediction page shows it: the class of every pixel,
and every level's maps of the same pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.segmentation.unet import Paths, UNet
from app.training.fashion_mnist import to_input


@dataclass(frozen=True, eq=False)
class Segmented:
    mask: np.ndarray  # (H, W) uint8: the argmax class of every pixel
    paths: Paths  # every level's maps, a batch of one


@torch.inference_mode()
def segment(model: UNet, image: np.ndarray) -> Segmented:
    """`image` (H, W) uint8 through the U-Net."""
    paths = model.paths(to_input(image[None]))
    return Segmented(model.head(paths.decoder[-1])[0].argmax(dim=0).numpy().astype(np.uint8), paths)
