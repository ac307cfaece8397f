"""The project's trained video networks, built and loaded (pretrained.motion_models holds the files)."""

from __future__ import annotations

import torch

from app.video.motion_models import ARCHITECTURES
from pretrained.motion_models import load


def shipped_motion_model(key: str) -> tuple[torch.nn.Module, float]:
    """(the network in eval mode with its verified weights, its card's test accuracy)."""
    trained = load(key)
    with torch.inference_mode(False):  # normal tensors even for a first caller in inference mode
        model = ARCHITECTURES[key](**trained.settings)
        model.load_state_dict(trained.state)
    return model.eval().requires_grad_(False), trained.accuracy
