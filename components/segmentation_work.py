"""The dense-prediction page's models and data: the project's two U-Nets, loaded once per server;
the test scenes, built once per server; and what a U-Net makes of one picture (milliseconds at
64×64, so computed in the script run)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.segmentation.data import fashion_scenes, to_input
from app.segmentation.scenes import Scenes
from app.segmentation.shipped import shipped_unet
from app.segmentation.unet import UNet
from components.server_state import DATASETS, SEGMENTATION_MODELS

KEYS = ("unet", "unet_noskip")


def unet(key: str) -> tuple[UNet, dict[str, float]]:
    """(the shipped U-Net, its card's scores on the test scenes)."""
    return SEGMENTATION_MODELS.get(key, lambda: shipped_unet(key))


def test_scenes() -> Scenes:
    """The 1,000 test scenes; raises DatasetMissing without Fashion-MNIST."""
    return DATASETS.get("fashion-mnist scenes, test", lambda: fashion_scenes("test"))


@dataclass(frozen=True, eq=False)
class Segmented:
    mask: np.ndarray  # (H, W) uint8: the argmax class of every pixel
    decoder: torch.Tensor  # (C, H, W): the last decoder level's maps, before the 1×1 classifier


@torch.inference_mode()
def segmented(key: str, image: np.ndarray) -> Segmented:
    """`image` (H, W) uint8 through the U-Net: its mask, and the maps its classifier reads."""
    model, _ = unet(key)
    decoded = model.decoded(to_input(image[None]))  # (1, C, H, W)
    return Segmented(model.head(decoded)[0].argmax(dim=0).numpy().astype(np.uint8), decoded[0])
