"""Preprocessing a picture for a model and reading off its top classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from pretrained.spec import Preprocessing


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


def preprocess(rgb: np.ndarray, spec: Preprocessing) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, S, S) float: the model's own eval transform
    (shorter side to `resize_size`, centre crop, normalise), with the same
    torchvision functions that torchvision's weights transforms and timm use."""
    image = torch.tensor(rgb).permute(2, 0, 1)  # (3, H, W); a copy, the array is read-only
    image = TF.resize(
        image, [spec.resize_size], interpolation=InterpolationMode(spec.interpolation), antialias=True
    )
    image = TF.center_crop(image, [spec.input_size, spec.input_size])
    image = TF.convert_image_dtype(image, torch.float32)
    image = TF.normalize(image, mean=list(spec.mean), std=list(spec.std))
    return image.unsqueeze(0)


def top_k(logits: torch.Tensor, class_names: tuple[str, ...], k: int = 5) -> list[Prediction]:
    """The k most probable classes of one image's logits (1, C) or (C,)."""
    probabilities = torch.softmax(logits.reshape(-1).float(), dim=0)
    values, indices = probabilities.topk(k)
    return [
        Prediction(index=int(i), label=class_names[int(i)], probability=float(p))
        for p, i in zip(values.tolist(), indices.tolist())
    ]


@torch.inference_mode()
def classify(model: torch.nn.Module, batch: torch.Tensor, class_names: tuple[str, ...], k: int = 5) -> list[Prediction]:
    """Runs `model` on a preprocessed (1, 3, S, S) batch on the model's device."""
    device = next(model.parameters()).device
    return top_k(model(batch.to(device)), class_names, k)
