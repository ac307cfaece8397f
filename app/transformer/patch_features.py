"""DINO's features read without labels: the principal components of the last layer's patch
features as colours (the figure of DINOv2, Oquab et al. 2023), a foreground mask from the first
component, and the patches whose features are closest to a clicked one.

DINOv2's recipe: a PCA over all patches; threshold the first component to separate the object
from the background; a second PCA over the foreground patches only, its three components shown
as RGB. The first component's sign is arbitrary; here the side whose patches lie nearer the
picture's centre on average is called the foreground (a photographed object is usually framed
near the middle; counting border patches instead fails for an object that spans the picture
from edge to edge, as a shoe in Fashion-MNIST does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    projections: np.ndarray  # (P, k): each patch's coordinates on the components
    directions: np.ndarray  # (k, D): unit vectors, largest variance first
    explained: np.ndarray  # (k,): share of the total variance each explains


def principal_components(features: np.ndarray, count: int = 3) -> Components:
    """PCA of (P, D) features (rows centred), by singular value decomposition in float64."""
    data = np.asarray(features, dtype=np.float64)
    if data.shape[0] < 2:
        raise ValueError("a PCA needs at least two patches")
    centred = data - data.mean(axis=0)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    count = min(count, directions.shape[0])
    variance = singular**2
    return Components(centred @ directions[:count].T, directions[:count], variance[:count] / variance.sum())


def foreground_mask(first: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(h, w) boolean: the patches on the side of zero of the first component whose patches lie
    nearer the centre on average (ties, or a side with no patch: the smaller side)."""
    positive = (np.asarray(first) > 0).reshape(grid)
    rows, cols = np.mgrid[0: grid[0], 0: grid[1]]
    distance = np.hypot((rows + 0.5) / grid[0] - 0.5, (cols + 0.5) / grid[1] - 0.5)
    if positive.all() or not positive.any():
        return positive if positive.mean() <= 0.5 else ~positive
    nearer = distance[positive].mean(), distance[~positive].mean()
    if nearer[0] == nearer[1]:
        return positive if positive.mean() <= 0.5 else ~positive
    return positive if nearer[0] < nearer[1] else ~positive


def as_colours(projections: np.ndarray) -> np.ndarray:
    """(P, 3) coordinates → (P, 3) in [0, 1]: each component min–max scaled on its own."""
    low, high = projections.min(axis=0), projections.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (projections - low) / span


@dataclass(frozen=True)
class FeaturePicture:
    colours: np.ndarray  # (h, w, 3) in [0, 1]; background black when masked
    mask: np.ndarray  # (h, w) the foreground (all True without a mask)
    first: Components  # the PCA over all patches
    shown: Components  # the PCA coloured (over the foreground when masked)


def feature_picture(features: np.ndarray, grid: tuple[int, int], masked: bool) -> FeaturePicture:
    """(P, D) patch features → the PCA picture; with `masked`, DINOv2's two-step recipe."""
    first = principal_components(features, 3)
    if not masked:
        return FeaturePicture(as_colours(first.projections).reshape(*grid, 3), np.ones(grid, dtype=bool), first, first)
    mask = foreground_mask(first.projections[:, 0], grid)
    kept = mask.reshape(-1)
    if kept.sum() < 4:  # too few patches for three components: colour everything
        return FeaturePicture(as_colours(first.projections).reshape(*grid, 3), np.ones(grid, dtype=bool), first, first)
    shown = principal_components(np.asarray(features)[kept], 3)
    colours = np.zeros((kept.size, 3))
    colours[kept] = as_colours(shown.projections)
    return FeaturePicture(colours.reshape(*grid, 3), mask, first, shown)


def cosine_similarity_to(features: np.ndarray, index: int) -> np.ndarray:
    """(P,) cosine similarity of every patch's features to patch `index`'s."""
    data = np.asarray(features, dtype=np.float64)
    unit = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
    return unit @ unit[index]
