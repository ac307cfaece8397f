"""The loss along two lines through a network's weights: the 1D views of the landscape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.landscape.grid import difference, evaluate_line, filter_normalized_direction
from app.landscape.subject import TrainedNetwork

LINE_POINTS = 41


@dataclass(frozen=True, eq=False)
class Lines:
    along: np.ndarray  # α of θ₀ + α(θ* − θ₀): Goodfellow et al.'s line, continued past both ends
    path_loss: np.ndarray
    path_accuracy: np.ndarray
    around: np.ndarray  # α of θ* + αd, d a random filter-normalised direction
    random_loss: np.ndarray
    random_accuracy: np.ndarray


def subject_lines(subject: TrainedNetwork, size: int | None, seed: int, on_point: Callable[[], None] | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> Lines:
    """Both lines at LINE_POINTS exact points each, on the subject's first `size` validation
    images; `on_point()` after each point; stops early (NaN left) when asked."""
    network, initial, data = subject.network(), subject.path[0], subject.evaluation(size)
    along, around = np.linspace(-0.5, 1.5, LINE_POINTS), np.linspace(-1, 1, LINE_POINTS)
    path = evaluate_line(network, initial, difference(subject.final, initial), data, along, on_point, should_stop)
    random = evaluate_line(network, subject.final, filter_normalized_direction(subject.final, seed), data, around,
                           on_point, should_stop)
    return Lines(along, *path, around, *random)
