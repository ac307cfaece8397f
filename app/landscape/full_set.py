"""Li et al. evaluate every point of a landscape on the whole training set; the page uses a
sample. At a few points, the two are compared against the sample's uncertainty."""

from __future__ import annotations

import numpy as np

from app.landscape.grid import filter_normalized_direction, per_example_losses, point_weights
from app.landscape.subject import TrainedNetwork

POINTS = ((0.0, 0.0), (0.5, 0.0), (-0.5, 0.5))  # (α, β) in the plane of directions seeded 0 and 1


def sample_against_full_set(subject: TrainedNetwork, size: int | None) -> list[dict]:
    """One row per point: the sample's and the full training set's mean loss, their difference,
    and whether it is within three standard errors of the sample's mean."""
    directions = (filter_normalized_direction(subject.final, 0), filter_normalized_direction(subject.final, 1))
    rows, network = [], subject.network()
    for alpha, beta in POINTS:
        weights = point_weights(subject.final, directions, (alpha, beta))
        sample = per_example_losses(network, weights, subject.evaluation(size))
        full = per_example_losses(network, weights, subject.training)
        tolerance = 3 * float(sample.std()) / np.sqrt(len(sample))
        gap = abs(float(sample.mean()) - float(full.mean()))
        rows.append({"α": alpha, "β": beta, "sample loss": float(sample.mean()),
                     "full training-set loss": float(full.mean()), "difference": gap,
                     "tolerance (3 standard errors)": tolerance, "agree": gap <= tolerance})
    return rows
