"""The video page's trained networks, loaded once per server, and what each makes of a clip
(milliseconds at 8 × 48 × 48, so computed in the script run, once per clip and network)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from app.video.moving_fashion import clip_input
from app.video.shipped import shipped_motion_model
from components.capture_cache import captured
from components.server_state import MOTION_MODELS


def motion_model(key: str) -> tuple[torch.nn.Module, float]:
    """(the shipped network, its card's test accuracy)."""
    return MOTION_MODELS.get(key, lambda: shipped_motion_model(key))


def motion_probabilities(key: str, clip: np.ndarray) -> np.ndarray:
    """(classes,) the network's probabilities for `clip` (FRAMES, SIDE, SIDE) uint8."""
    @torch.inference_mode()
    def compute() -> np.ndarray:
        return motion_model(key)[0](clip_input(clip[None]))[0].softmax(dim=0).numpy()

    return captured(("motion probabilities", key, hashlib.sha256(np.ascontiguousarray(clip)).hexdigest()), compute)
