"""The dense-prediction page's models and data: the project's U-Nets, loaded once per server;
the test scenes, built once per server; and what a U-Net makes of one picture (milliseconds at
64×64, so computed in the script run, and kept with the server's captures: four tabs read it)."""

from __future__ import annotations

import hashlib

import numpy as np

from app.segmentation.data import fashion_scenes
from app.segmentation.scenes import Scenes
from app.segmentation.segment import Segmented, segment
from app.segmentation.shipped import shipped_unet
from app.segmentation.unet import UNet
from components.capture_cache import captured
from components.server_state import DATASETS, SEGMENTATION_MODELS

KEYS = ("unet", "unet_noskip")  # the skip lesson's pair
BILINEAR = "unet_bilinear"  # the U-Net with skips, upsampling bilinearly instead


def unet(key: str) -> tuple[UNet, dict[str, float]]:
    """(the shipped U-Net, its card's scores on the test scenes)."""
    return SEGMENTATION_MODELS.get(key, lambda: shipped_unet(key))


def test_scenes() -> Scenes:
    """The 1,000 test scenes; raises DatasetMissing without Fashion-MNIST."""
    return DATASETS.get("fashion-mnist scenes, test", lambda: fashion_scenes("test"))


def segmented(key: str, image: np.ndarray) -> Segmented:
    """`image` (H, W) uint8 through the shipped U-Net `key`: its mask, and every level's maps."""
    digest = hashlib.sha256(np.ascontiguousarray(image)).hexdigest()
    return captured(("u-net paths", key, digest), lambda: segment(unet(key)[0], image))
