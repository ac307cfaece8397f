"""The input every model page shares: a picture cropped and normalised as the model's own eval
transform does, at its input size or another."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from pretrained.spec import Preprocessing


def model_view(rgb: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """(H, W, 3) uint8 -> (S, S, 3) uint8: the crop the model sees (shorter side to
    `resize_size`, centre crop), with the same torchvision functions that torchvision's
    weights transforms and timm use. Overlays are drawn on this, so they line up.
    A one-channel model sees grey: the view is grey in all three channels."""
    image = torch.tensor(rgb).permute(2, 0, 1)  # (3, H, W); a copy, the array is read-only
    if spec.channels == 1:
        image = TF.rgb_to_grayscale(image, num_output_channels=3)
    image = TF.resize(
        image, list(spec.resize_hw or [spec.resize_size]), interpolation=InterpolationMode(spec.interpolation), antialias=spec.antialias,
        max_size=spec.max_size,
    )
    if spec.crop:
        image = TF.center_crop(image, [spec.input_size, spec.input_size])
    return image.permute(1, 2, 0).numpy()


def normalize(view: np.ndarray, spec: Preprocessing) -> torch.Tensor:
    """(S, S, 3) uint8 -> (1, C, S, S) float, scaled to [0, 1] and normalised."""
    image = TF.convert_image_dtype(torch.from_numpy(np.ascontiguousarray(view)).permute(2, 0, 1), torch.float32)
    image = image[: spec.channels]
    return TF.normalize(image, mean=list(spec.mean), std=list(spec.std)).unsqueeze(0)


def preprocess(rgb: np.ndarray, spec: Preprocessing) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, S, S) float: the model's own eval transform."""
    return normalize(model_view(rgb, spec), spec)


def at_input_size(spec: Preprocessing, size: int) -> Preprocessing:
    """The same preprocessing for another input size, keeping the crop ratio (and the cap's)."""
    scale = size / spec.input_size
    return replace(spec, input_size=size, resize_size=round(spec.resize_size * scale),
                   max_size=None if spec.max_size is None else round(spec.max_size * scale))
