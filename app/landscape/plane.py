"""A plane through a network's final weights and the square of it that is evaluated: two
random filter-normalised directions (Li et al.), or the training path's two principal ones."""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.landscape.grid import (
    LossGrid,
    PathPlane,
    Weights,
    evaluate_grid,
    filter_normalized_direction,
    pca_directions,
)
from app.landscape.subject import TrainedNetwork

Directions = Literal["random", "pca"]


def random_directions(subject: TrainedNetwork, seed: int) -> tuple[Weights, Weights]:
    return filter_normalized_direction(subject.final, seed), filter_normalized_direction(subject.final, seed + 1)


def plane_of(subject: TrainedNetwork, directions: Directions, seed: int) -> tuple[tuple[Weights, Weights],
                                                                                    PathPlane | None]:
    """(the two directions, the path's plane when they are its principal ones)."""
    if directions == "pca":
        plane = pca_directions(subject.path)
        return plane.directions, plane
    return random_directions(subject, seed), None


def plane_axes(resolution: int, span: float, plane: PathPlane | None) -> tuple[np.ndarray, np.ndarray]:
    """(α, β) of the evaluated square: ±span around the final weights on random directions; on
    the path's plane, a square around the projected path with a quarter of its extent as margin."""
    if plane is None:
        axis = np.linspace(-span, span, resolution)
        return axis, axis
    low, high = plane.coordinates.min(axis=0), plane.coordinates.max(axis=0)
    margin = 0.25 * (high - low).max()
    centre, half = (low + high) / 2, (high - low).max() / 2 + margin
    return (np.linspace(centre[0] - half, centre[0] + half, resolution),
            np.linspace(centre[1] - half, centre[1] + half, resolution))


def plane_surface(subject: TrainedNetwork, directions: Directions, seed: int, resolution: int, span: float,
                  size: int | None) -> tuple[LossGrid, PathPlane | None]:
    """The whole surface at once, on the subject's first `size` validation images (the page
    computes the same in a background job, coarse points first)."""
    chosen, plane = plane_of(subject, directions, seed)
    alphas, betas = plane_axes(resolution, span, plane)
    return evaluate_grid(subject.network(), subject.final, chosen, subject.evaluation(size), alphas, betas,
                         coarse_first=None), plane
