"""Spatial attention as CBAM adds it after the channel gates (Woo et al. 2018): the feature maps
are pooled across channels (their average and their maximum at each position), a 7×7
convolution turns the two maps into one, and a sigmoid makes it a gate in [0, 1] that scales
every channel at that position. timm builds the module (timm.layers.cbam.SpatialAttn); no
network of torchvision or timm ships trained CBAM weights, so its convolution is random here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from timm.layers.cbam import SpatialAttn

from app.figures.colormaps import apply_colormap, normalise


@dataclass(frozen=True, eq=False)
class SpatialGate:
    average: torch.Tensor  # (H, W): the features' mean over channels
    maximum: torch.Tensor  # (H, W): their maximum over channels
    gate: torch.Tensor  # (H, W) in [0, 1]


def seeded_spatial_attention(kernel: int = 7, seed: int = 0) -> SpatialAttn:
    """CBAM's spatial module with seeded random weights, in eval mode; the global generator is
    left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SpatialAttn(kernel).eval().requires_grad_(False)


@torch.no_grad()
def spatial_gate(features: torch.Tensor, module: SpatialAttn) -> SpatialGate:
    """The pooled maps and the gate of (C, H, W) features, step by step as the module computes them."""
    average, maximum = features.mean(dim=0), features.amax(dim=0)  # (H, W) each
    pooled = torch.stack([average, maximum])[None]  # (1, 2, H, W)
    return SpatialGate(average, maximum, module.gate(module.conv(pooled))[0, 0])


def spatial_gate_figure(found: SpatialGate, after: torch.Tensor, colormap: str = "Viridis", height: int = 300):
    """Four pictures: the channel average and maximum (each on its own scale), the gate on 0–1,
    and the channel average after the gate on the scale of the one before it."""
    from app.figures.plot_images import titled_pictures

    before = found.average.numpy()
    low, high = float(before.min()), float(before.max())
    pictures = {
        "channel average": normalise(before, low, high),
        "channel maximum": normalise(found.maximum.numpy(), float(found.maximum.min()), float(found.maximum.max())),
        "gate (0 to 1)": found.gate.numpy(),
        "average after the gate": normalise(after.mean(dim=0).numpy(), low, high),
    }
    return titled_pictures({title: apply_colormap(np.clip(unit, 0, 1), colormap) for title, unit in pictures.items()},
                           height)
