"""Seg-Grad-CAM (Vinogradova, Dibrov and Myers 2020): Grad-CAM for a region of a segmentation.
The score explained is the sum of class c's scores over the chosen pixels, y = Σ_(i,j)∈M y_ij^c;
each map k of a layer A is weighted by the mean of ∂y/∂A_k over its positions, and the
explanation is ReLU(Σ_k w_k A_k), at the layer's resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.segmentation.levels import level_map
from app.segmentation.unet import UNet


@dataclass(frozen=True)
class Region:
    """Score pixels [top, bottom) × [left, right)."""

    top: int
    left: int
    bottom: int
    right: int

    def clipped(self, height: int, width: int) -> "Region":
        """Inside a (height, width) map, at least one pixel."""
        top, left = min(max(self.top, 0), height - 1), min(max(self.left, 0), width - 1)
        return Region(top, left, min(max(self.bottom, top + 1), height), min(max(self.right, left + 1), width))

    @classmethod
    def around(cls, mask: np.ndarray, label: int) -> "Region":
        """The box around a class's pixels in a (H, W) mask, or the whole mask when it has none:
        where Seg-Grad-CAM starts before the student drags a box."""
        rows, cols = np.nonzero(mask == label)
        if not len(rows):
            return cls(0, 0, *mask.shape)
        return cls(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)


def seg_grad_cam(activation: torch.Tensor, scores: torch.Tensor, cls: int, region: Region) -> torch.Tensor:
    """(h, w), ≥ 0: the explanation at `activation`'s resolution. `activation` (1, K, h, w) and
    `scores` (1, classes, H, W) come from one pass with autograd on."""
    explained = scores[0, cls, region.top:region.bottom, region.left:region.right].sum()
    gradient, = torch.autograd.grad(explained, activation)
    weights = gradient[0].mean(dim=(1, 2))  # (K,): global-average-pooled gradients
    return torch.relu(torch.einsum("k,khw->hw", weights, activation[0])).detach()


def on_input(explanation: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(height, width): the explanation stretched over the input (bilinear, as Grad-CAM is shown)."""
    return F.interpolate(explanation[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]


def unet_seg_grad_cam(model: UNet, batch: torch.Tensor, level: str, cls: int, region: Region) -> torch.Tensor:
    """The explanation at one of the U-Net's levels for its first image, (h, w) of that level.
    Autograd runs from the input, so the shared model's weights are neither changed nor hooked."""
    with torch.enable_grad():
        paths = model.paths(batch[:1].detach().requires_grad_(True))
        return seg_grad_cam(level_map(paths, level), model.head(paths.decoder[-1]), cls, region)
