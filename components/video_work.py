"""The video page's trained networks, loaded once per server, and what each makes of a clip
(milliseconds at 8 × 48 × 48, so computed in the script run)."""

from __future__ import annotations

import numpy as np
import torch

from app.video.moving_fashion import clip_input
from app.video.shipped import shipped_motion_model
from components.server_state import MOTION_MODELS


def motion_model(key: str) -> tuple[torch.nn.Module, float]:
    """(the shipped network, its card's test accuracy)."""
    return MOTION_MODELS.get(key, lambda: shipped_motion_model(key))


@torch.inference_mode()
def motion_probabilities(key: str, clip: np.ndarray) -> np.ndarray:
    """(classes,) the network's probabilities for `clip` (FRAMES, SIDE, SIDE) uint8."""
    model, _ = motion_model(key)
    return model(clip_input(clip[None]))[0].softmax(dim=0).numpy()
