"""The project's trained U-Nets, built and loaded (pretrained.segmentation_models holds the files)."""

from __future__ import annotations

import torch

from app.segmentation.unet import UNet
from pretrained.segmentation_models import load


def shipped_unet(key: str) -> tuple[UNet, dict[str, float]]:
    """(the U-Net in eval mode with its verified weights, its card's scores on the test scenes)."""
    trained = load(key)
    # Built as normal tensors even when the first caller runs in inference mode: the
    # gradient-based views (Seg-Grad-CAM, what an upsampling pixel reads) need autograd through it.
    with torch.inference_mode(False):
        model = UNet(**{k: tuple(v) if isinstance(v, list) else v for k, v in trained.settings.items()})
        model.load_state_dict(trained.state)
    return model.eval().requires_grad_(False), trained.scores
