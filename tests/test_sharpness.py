"""Sharpness of a minimum: the power iteration against the full Hessian's spectrum, the
basin width against a brute-force scan of functions whose width is known."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from app.landscape.grid import EvaluationSet, LossGrid, flatten, unflatten
from app.landscape.sharpness import basin_width, basin_widths, top_hessian_eigenvalue


def _tiny_problem(trained: bool):
    """A 4-5-3 tanh network (43 parameters) on 40 random points."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    images, labels = torch.randn(40, 4, dtype=torch.float64), torch.randint(0, 3, (40,))
    if trained:
        optimizer = torch.optim.LBFGS(model.parameters(), max_iter=200)

        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            return loss

        optimizer.step(closure)
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    return model.requires_grad_(False), weights, EvaluationSet(images, labels)


def _full_hessian_spectrum(model, weights, data) -> np.ndarray:
    def loss(vector):
        return F.cross_entropy(functional_call(model, unflatten(vector, weights), (data.images,)), data.labels)

    hessian = torch.autograd.functional.hessian(loss, flatten(weights))
    return np.linalg.eigvalsh(hessian.numpy())


@pytest.mark.parametrize("trained", [True, False])
def test_power_iteration_finds_the_full_hessians_top_eigenvalue(trained):
    model, weights, data = _tiny_problem(trained)
    spectrum = _full_hessian_spectrum(model, weights, data)
    assert len(spectrum) == 43
    found = top_hessian_eigenvalue(model, weights, data, iterations=2000, tolerance=1e-10, seed=1)
    assert found.converged
    assert found.value == pytest.approx(spectrum[-1], rel=1e-4)


class _Saddle(torch.nn.Module):
    """Logits (q(w), 0) with q a quadratic form of eigenvalues −5, 2, 1, 0.5: near w = 0
    the loss's Hessian is dominated by a negative eigenvalue."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
        self.register_buffer("form", torch.diag(torch.tensor([-5.0, 2.0, 1.0, 0.5], dtype=torch.float64)))

    def forward(self, images):
        value = 0.5 * self.weight @ self.form @ self.weight
        return torch.stack([value.expand(len(images)), torch.zeros(len(images), dtype=torch.float64)], 1)


def test_a_negative_dominant_eigenvalue_still_gives_the_top_one():
    """Away from a minimum the eigenvalue of largest magnitude can be negative; the top one is asked for."""
    saddle = _Saddle().requires_grad_(False)
    point = {"weight": torch.tensor([0.3, -0.2, 0.1, 0.4], dtype=torch.float64)}
    data = EvaluationSet(torch.zeros(8, 1, dtype=torch.float64), torch.ones(8, dtype=torch.long))
    spectrum = _full_hessian_spectrum(saddle, point, data)
    assert spectrum[0] < -abs(spectrum[-1]) and spectrum[-1] > 0  # the dominant one is negative
    found = top_hessian_eigenvalue(saddle, point, data, iterations=5000, tolerance=1e-12, seed=0)
    assert found.converged and found.value == pytest.approx(spectrum[-1], rel=1e-5)


def _scan_doubling(f, centre: float, step: float, direction: int) -> float:
    """Brute force: walk from the centre in tiny steps until f reaches twice f(centre)."""
    x, target = centre, 2 * f(centre)
    while f(x) < target:
        x += direction * step
    return abs(x - centre)


def test_basin_width_of_a_quadratic_matches_a_brute_force_scan():
    # f(x) = 1 + x²/a² doubles at |x| = a; asymmetric: a = 0.3 on the left, 0.5 on the right.
    def f(x):
        return 1 + x ** 2 / (0.3 ** 2 if x < 0 else 0.5 ** 2)

    axis = np.linspace(-1, 1, 401)  # fine enough that linear interpolation is within 1e-4
    found = basin_width(axis, np.array([f(x) for x in axis]))
    assert found.left == pytest.approx(_scan_doubling(f, 0.0, 1e-6, -1), abs=1e-4)
    assert found.right == pytest.approx(_scan_doubling(f, 0.0, 1e-6, +1), abs=1e-4)
    assert found.left == pytest.approx(0.3, abs=1e-4) and found.width == pytest.approx(0.8, abs=2e-4)


def test_basin_widths_of_a_2d_bowl_and_a_basin_wider_than_the_span():
    # f = 2 + α² + 4β²: doubles at |α| = √2 (beyond the span of 1) and at |β| = √2/2.
    axis = np.linspace(-1, 1, 21)
    loss = 2 + axis[None, :] ** 2 + 4 * axis[:, None] ** 2  # (β, α)
    along_alpha, along_beta = basin_widths(LossGrid(axis, axis, loss, np.zeros_like(loss)))
    assert along_alpha.left is None and along_alpha.right is None and along_alpha.width is None
    scan = _scan_doubling(lambda b: 2 + 4 * b ** 2, 0.0, 1e-6, +1)
    assert scan == pytest.approx(np.sqrt(2) / 2, abs=1e-5)
    # On a 0.1 grid the straight line between points overestimates a convex curve's
    # crossing by at most (spacing / 2)² × curvature / slope: here below 0.01.
    assert along_beta.right == pytest.approx(scan, abs=0.01) and along_beta.left == pytest.approx(scan, abs=0.01)


def test_a_line_that_misses_the_centre_is_refused():
    with pytest.raises(ValueError, match="centre"):
        basin_width(np.linspace(-1, 1, 20), np.ones(20))
