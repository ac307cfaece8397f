"""How long a landscape job will take: measured on this machine before it starts, and
corrected from the work already done while it runs.

A single forward timed on an idle page underestimated grids by 40–65 %: a running
job shares the cores with the page's reruns and other sessions. So the estimate
starts from a few points of the real evaluation and then follows the job's own pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.landscape.grid import EvaluationSet, Weights, evaluate_grid

CALIBRATION_POINTS = 3  # timed points (after one to warm up); they count as that many points of evidence


def seconds_per_point(model, origin: Weights, directions: tuple[Weights, Weights], data: EvaluationSet,
                      clock: Callable[[], float] = time.perf_counter) -> float:
    """The median time of CALIBRATION_POINTS grid points evaluated exactly as a grid does
    it (the first, warm-up point not counted)."""
    moments = []
    alphas = np.linspace(-0.1, 0.1, CALIBRATION_POINTS + 1)
    start = clock()
    evaluate_grid(model, origin, directions, data, alphas, np.zeros(1), coarse_first=None,
                  on_point=lambda *_: moments.append(clock()))
    times = np.diff([start, *moments])[1:]
    return float(np.median(times))


def seconds_per_product(product, size: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """One Hessian-vector product timed (after one to warm up), with `product` from
    app.landscape.sharpness.hessian_vector_product."""
    import torch

    vector = torch.ones(size) / size ** 0.5
    product(vector)
    start = clock()
    product(vector)
    return clock() - start


@dataclass
class Phase:
    """A part of a job: `count` steps of about `seconds_each`, as calibrated."""

    count: int
    seconds_each: float
    done: int = 0


class JobEstimate:
    """The seconds a job has left. Before it starts: every phase's steps at their
    calibrated cost. Once it runs: the same, scaled by how much slower or faster the
    steps done so far went than calibrated, with the calibration's own points pooled
    in as CALIBRATION_POINTS points done at the calibrated pace. For a grid alone this
    is points left × the measured seconds per point, as soon as a few points are in."""

    def __init__(self, phases: list[Phase], clock: Callable[[], float] = time.monotonic):
        self.phases = phases
        self._clock = clock
        self._lock = threading.Lock()
        self._started: float | None = None

    def start(self) -> None:
        with self._lock:
            self._started = self._clock()

    def step_done(self, phase: int) -> None:
        with self._lock:
            self.phases[phase].done = min(self.phases[phase].count, self.phases[phase].done + 1)

    def finish(self, phase: int) -> None:
        """The phase ended early (a power iteration that converged): nothing of it is left."""
        with self._lock:
            self.phases[phase].count = self.phases[phase].done

    def pace(self) -> float:
        """Measured seconds per calibrated second (1 before any evidence)."""
        with self._lock:
            if self._started is None:
                return 1.0
            elapsed = self._clock() - self._started
            expected = sum(p.done * p.seconds_each for p in self.phases)
            prior = CALIBRATION_POINTS * self.phases[0].seconds_each
            return (elapsed + prior) / (expected + prior)

    def fraction_done(self) -> float:
        """The share of the calibrated work done (for a progress bar)."""
        with self._lock:
            total = sum(p.count * p.seconds_each for p in self.phases)
            return sum(p.done * p.seconds_each for p in self.phases) / total if total else 1.0

    def remaining_s(self) -> float:
        pace = self.pace()
        with self._lock:
            return pace * sum((p.count - p.done) * p.seconds_each for p in self.phases)
