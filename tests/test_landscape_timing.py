"""Landscape time estimates with an injected clock: calibrated from timed points, then
following the pace of the points a running job has done."""

import numpy as np
import pytest
import torch

from app.landscape.grid import EvaluationSet
from app.landscape.timing import CALIBRATION_POINTS, JobEstimate, Phase, seconds_per_point


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_calibration_times_real_grid_points_and_skips_the_warm_up():
    """Each evaluated point advances the clock by a known cost (the first one, a warm-up, by far more)."""
    clock, costs = FakeClock(), iter([5.0, 0.2, 0.3, 0.2])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).requires_grad_(False)
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    directions = ({k: torch.ones_like(v) for k, v in weights.items()},) * 2
    data = EvaluationSet(torch.randn(10, 1, 2, 2), torch.randint(0, 3, (10,)))
    forwards = []

    def forward_hook(*_):
        forwards.append(clock.now)
        clock.now += next(costs)

    handle = model.register_forward_hook(forward_hook)
    try:
        measured = seconds_per_point(model, weights, directions, data, clock=clock)
    finally:
        handle.remove()
    assert len(forwards) == CALIBRATION_POINTS + 1  # one forward per point
    assert measured == pytest.approx(0.2)  # the median of 0.2, 0.3, 0.2


def test_the_first_estimate_is_the_calibrated_cost_of_every_phase():
    estimate = JobEstimate([Phase(441, 0.05), Phase(20, 0.2), Phase(441, 0.08)], clock=FakeClock())
    assert estimate.remaining_s() == pytest.approx(441 * 0.05 + 20 * 0.2 + 441 * 0.08)


def test_the_running_estimate_converges_to_the_measured_rate():
    """Calibrated at 0.1 s a point, the job really takes 0.17 s a point: after n points the
    estimate for the rest approaches points left × 0.17 s."""
    clock = FakeClock()
    estimate = JobEstimate([Phase(441, 0.1)], clock=clock)
    estimate.start()
    errors = []
    for done in range(1, 442):
        clock.now += 0.17
        estimate.step_done(0)
        if done in (1, 10, 100, 400):
            errors.append(abs(estimate.remaining_s() - (441 - done) * 0.17) / ((441 - done) * 0.17))
    assert errors == sorted(errors, reverse=True)  # ever closer
    assert errors[0] > 0.2 and errors[-1] < 0.01
    assert estimate.remaining_s() == 0.0 and estimate.fraction_done() == 1.0


def test_a_slow_first_phase_scales_the_later_ones_and_an_early_stop_removes_its_rest():
    clock = FakeClock()
    estimate = JobEstimate([Phase(100, 0.1), Phase(20, 0.4)], clock=clock)
    estimate.start()
    for _ in range(100):
        clock.now += 0.2  # twice as slow as calibrated
        estimate.step_done(0)
    pooled = (100 * 0.2 + CALIBRATION_POINTS * 0.1) / (100 * 0.1 + CALIBRATION_POINTS * 0.1)
    assert estimate.remaining_s() == pytest.approx(pooled * 20 * 0.4)
    for _ in range(5):
        clock.now += 0.8
        estimate.step_done(1)
    estimate.finish(1)  # the power iteration converged after 5 products
    assert estimate.remaining_s() == 0.0
    assert np.isclose(estimate.fraction_done(), 1.0)
