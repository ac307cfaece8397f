"""Data augmentation on a whole batch at once, seeded: shifts, flips, rotations, noise."""

from __future__ import annotations

from collections.abc import Callable
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
        batch = rotate(batch, (uniform(count) * 2 - 1) * augmentation.rotation)
    if augmentation.noise:
        batch = (batch + augmentation.noise * torch.randn(batch.shape, generator=generator).to(device)).clamp(0, 1)
    return batch


def rotate(batch: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> the same, image b turned by degrees[b] about its centre (bilinear, zeros outside)."""
    angles = torch.deg2rad(degrees.to(batch.device, batch.dtype))
    cos, sin = torch.cos(angles), torch.sin(angles)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")


DIGIT_DATASETS = ("MNIST", "Digits (8×8, scikit-learn)")  # where a digit's orientation is part of its class


@dataclass(frozen=True)
class LookAlikes:
    """How often transformed images look more like another class than like their own:
    their nearest neighbour (Euclidean, pixels) among untransformed images has another label."""

    share: float  # of the transformed images
    baseline: float  # the same share for the images untransformed
    pairs: list[tuple[str, str, float]]  # (class, the class it looks like, share of that class's images), most first
    probes: int  # images transformed
    references: int  # untransformed images searched


def look_alikes(images: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...],
                transform: Callable[[torch.Tensor], torch.Tensor], probes: int = 400,
                references: int = 2000) -> LookAlikes:
    """Transforms `probes` of the (N, C, H, W) images and finds, for each, the nearest of
    `references` others left as they are; a fixed, seeded draw. Any pixel scale (uint8
    too): flips and turns are linear, and so is the nearest neighbour's choice."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    probe, reference = order[:probes], order[probes: probes + references]
    flat = images[reference].flatten(1).float()  # (R, D)
    half_norms = (flat * flat).sum(1) / 2

    def neighbour_labels(batch: torch.Tensor) -> torch.Tensor:
        # argmin over r of |x − y_r|² = |x|² − 2 x·y_r + |y_r|²: |x|² is the same for every r
        return labels[reference][(half_norms - batch.flatten(1).float() @ flat.T).argmin(1)]

    truth = labels[probe]
    seen = neighbour_labels(transform(images[probe].float()))
    wrong = seen != truth
    counts = torch.bincount(truth * len(classes) + seen, minlength=len(classes) ** 2).reshape(len(classes), -1)
    per_class = counts.sum(1).clamp(min=1)
    pairs = sorted(((classes[a], classes[b], counts[a, b].item() / per_class[a].item())
                    for a in range(len(classes)) for b in range(len(classes)) if a != b and counts[a, b]),
                   key=lambda pair: -pair[2])
    baseline = float((neighbour_labels(images[probe].float()) != truth).float().mean())
    return LookAlikes(float(wrong.float().mean()), baseline, pairs, len(probe), len(reference))


def range_edges(batch: torch.Tensor, degrees: float) -> torch.Tensor:
    """The batch turned to the edges of a ±degrees range: half by +degrees, half by −degrees."""
    signs = torch.where(torch.arange(len(batch)) % 2 == 0, 1.0, -1.0)
    return rotate(batch, signs * degrees)


def label_breaking_warning(augmentation: Augmentation, dataset: str, images: torch.Tensor, labels: torch.Tensor,
                           classes: tuple[str, ...]) -> str | None:
    """Warns where the augmentation makes most digits look like another digit, measured
    on these images (`look_alikes`); other datasets keep their labels when turned or mirrored."""
    if dataset not in DIGIT_DATASETS:
        return None
    warnings = []
    for active, name, verb, transform in (
            (augmentation.flip, "Mirroring", "mirrored", lambda batch: batch.flip(-1)),
            (augmentation.rotation, f"Turning by ±{augmentation.rotation:g}°",
             f"turned by ±{augmentation.rotation:g}° (the range's edges)",
             lambda batch: range_edges(batch, augmentation.rotation))):
        if not active:
            continue
        found = look_alikes(images, labels, classes, transform)
        if found.share > 0.5:  # most transformed digits look like another digit
            common = ", ".join(f"{a} → {b} ({share:.0%} of the {a}s)" for a, b, share in found.pairs[:3])
            warnings.append(
                f"{name} breaks labels: of {found.probes} digits {verb}, {found.share:.0%} are nearer to a digit "
                f"of another class than to any of their own ({found.baseline:.0%} untransformed; nearest "
                f"neighbour among {found.references:,} training images). Most often {common}.")
    return " ".join(warnings) or None
