"""Data augmentation on a whole batch at once, seeded: shifts, flips, rotations, noise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augmentation:
    crop: int = 0  # random shift of up to this many pixels (pad, then crop back)
    flip: bool = False  # mirror left-right with probability ½
    rotation: float = 0.0  # random rotation within ±degrees
    noise: float = 0.0  # Gaussian noise std, on [0, 1] pixels

    @property
    def active(self) -> bool:
        return bool(self.crop or self.flip or self.rotation or self.noise)

    def describe(self) -> str:
        parts = [f"crop ±{self.crop}px" if self.crop else "", "flip" if self.flip else "",
                 f"rotate ±{self.rotation:g}°" if self.rotation else "", f"noise {self.noise:g}" if self.noise else ""]
        return ", ".join(p for p in parts if p) or "none"


def augment(batch: torch.Tensor, augmentation: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> the same shape, each image transformed with its own random draw."""
    if not augmentation.active:
        return batch
    count, _, height, width = batch.shape
    device = batch.device

    def uniform(*shape):
        return torch.rand(*shape, generator=generator).to(device)

    if augmentation.crop:
        pad = augmentation.crop
        padded = F.pad(batch, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        batch = torch.stack([padded[i, :, dy[i]: dy[i] + height, dx[i]: dx[i] + width] for i in range(count)])
    if augmentation.flip:
        batch = torch.where(uniform(count, 1, 1, 1) < 0.5, batch.flip(-1), batch)
    if augmentation.rotation:
        angles = (uniform(count) * 2 - 1) * math.radians(augmentation.rotation)
        cos, sin = torch.cos(angles), torch.sin(angles)
        zero = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
        grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
        batch = F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")
    if augmentation.noise:
        batch = (batch + augmentation.noise * torch.randn(batch.shape, generator=generator).to(device)).clamp(0, 1)
    return batch


def label_breaking_warning(augmentation: Augmentation, dataset: str) -> str | None:
    """The course's warning, where it applies: some transformations change the class."""
    digits = dataset in ("MNIST", "Digits (8×8, scikit-learn)")
    if digits and augmentation.flip:
        return "Flipping digits mirrors them: a flipped 2, 3, 7 or 9 is no longer that digit (like 'b' and 'd')."
    if digits and augmentation.rotation > 90:
        return "Rotating digits by more than 90° turns 6 into 9 and back: the label no longer fits."
    return None
