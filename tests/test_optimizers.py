"""Surfaces against autograd, optimizers against torch.optim, the course's momentum
against its closed form, and the schedules' sums."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from app.optim.optimizers import GD, AdaGrad, Adam, AdamW, CourseMomentum, HeavyBall, Nesterov, RMSProp
from app.optim.schedules import SCHEDULES, Constant, Cosine, InverseTime, StepDecay, over_run
from app.optim.surfaces import SURFACES
from app.optim.trajectories import GradientNoise, run_optimizer

# A learning rate per surface that keeps plain gradient steps finite for 200 steps.
SAFE_LR = {"Quadratic bowl": 0.05, "Rosenbrock": 4e-4, "Beale": 1e-3, "Himmelblau": 5e-3,
           "Rastrigin": 1e-3, "Saddle": 0.02, "Plateau and cliff": 0.05}


def torch_oracle(name, lr, hp):
    return {
        "SGD": lambda p: torch.optim.SGD([p], lr=lr),
        "HeavyBall": lambda p: torch.optim.SGD([p], lr=lr, momentum=hp),
        "Nesterov": lambda p: torch.optim.SGD([p], lr=lr, momentum=hp, nesterov=True),
        "AdaGrad": lambda p: torch.optim.Adagrad([p], lr=lr),
        "RMSProp": lambda p: torch.optim.RMSprop([p], lr=lr, alpha=hp),
        "Adam": lambda p: torch.optim.Adam([p], lr=lr, betas=(hp, 0.999), weight_decay=0.01),
        "AdamW": lambda p: torch.optim.AdamW([p], lr=lr, betas=(hp, 0.999), weight_decay=0.05),
    }[name]


def ours(name, hp):
    return {
        "SGD": GD(), "HeavyBall": HeavyBall(momentum=hp), "Nesterov": Nesterov(momentum=hp),
        "AdaGrad": AdaGrad(), "RMSProp": RMSProp(alpha=hp), "Adam": Adam(beta1=hp, weight_decay=0.01),
        "AdamW": AdamW(beta1=hp, weight_decay=0.05),
    }[name]


ADAPTIVE_LR = {"AdaGrad": 0.1, "RMSProp": 0.01, "Adam": 0.02, "AdamW": 0.02}
CASES = [(surface, optimizer, variant) for surface in SURFACES for optimizer in
         ("SGD", "HeavyBall", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW") for variant in (0, 1)]


@pytest.mark.parametrize("surface_name, optimizer, variant", CASES)
def test_trajectory_equals_torch_optim_step_by_step(surface_name, optimizer, variant):
    surface = SURFACES[surface_name]
    (x0, x1), (y0, y1) = surface.view
    # Two start points and two hyperparameter sets per optimizer and surface.
    start = surface.start if variant == 0 else (x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0))
    hp = (0.9, 0.99) if optimizer == "RMSProp" else (0.9, 0.5)
    hp = hp[variant]
    base = ADAPTIVE_LR.get(optimizer, SAFE_LR[surface_name] * (0.1 if optimizer != "SGD" else 1.0))
    lr = base * (1.0 if variant == 0 else 0.5)
    trajectory = run_optimizer(surface, ours(optimizer, hp), start, 200, lr)
    parameter = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    oracle = torch_oracle(optimizer, lr, hp)(parameter)
    expected = [parameter.detach().numpy().copy()]
    for _ in range(200):
        parameter.grad = torch.tensor(surface.gradient(*parameter.detach().tolist()), dtype=torch.float64)
        oracle.step()
        expected.append(parameter.detach().numpy().copy())
    assert trajectory.diverged_at is None
    np.testing.assert_allclose(trajectory.points, np.array(expected), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("surface", list(SURFACES.values()), ids=list(SURFACES))
def test_closed_form_gradients_equal_autograd(surface):
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = surface.view
    for x, y in zip(rng.uniform(x0, x1, 20), rng.uniform(y0, y1, 20)):
        point = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        surface.value(point[0], point[1], torch).backward()
        np.testing.assert_allclose(surface.gradient(x, y), point.grad.numpy(), rtol=1e-10, atol=1e-10)
        assert surface.value(x, y) == pytest.approx(float(surface.value(np.float64(x), np.float64(y), np)))
    for minimum in surface.minima:
        assert surface.value(*minimum) == pytest.approx(surface.minimum_value, abs=1e-9)
        assert np.hypot(*surface.gradient(*minimum)) < 1e-4


def test_the_bowls_condition_number_is_its_curvature_ratio():
    bowl = dataclasses.replace(SURFACES["Quadratic bowl"], condition=25.0, rotation_degrees=40.0)
    hessian = torch.autograd.functional.hessian(lambda p: bowl.value(p[0], p[1], torch),
                                                torch.tensor([0.3, -0.2], dtype=torch.float64))
    eigenvalues = torch.linalg.eigvalsh(hessian)
    assert float(eigenvalues[1] / eigenvalues[0]) == pytest.approx(25.0)


def test_course_momentum_equals_its_closed_form_on_a_quadratic():
    """On f = ½aθ² the course's update is linear: (v, θ)ₜ₊₁ = M (v, θ)ₜ with
    M = [[λ, −(1−λ)a], [ηλ, 1 − η(1−λ)a]]; so θₜ = [0 1] Mᵗ (0, θ₀)."""
    bowl = dataclasses.replace(SURFACES["Quadratic bowl"], condition=4.0, rotation_degrees=0.0)
    lam, eta, steps = 0.8, 0.3, 60
    trajectory = run_optimizer(bowl, CourseMomentum(lam=lam), (1.5, -0.7), steps, eta)
    for coordinate, curvature in ((0, 1.0), (1, 4.0)):
        m = np.array([[lam, -(1 - lam) * curvature], [eta * lam, 1 - eta * (1 - lam) * curvature]])
        start = np.array([0.0, trajectory.points[0, coordinate]])
        closed = [(np.linalg.matrix_power(m, t) @ start)[1] for t in range(steps + 1)]
        np.testing.assert_allclose(trajectory.points[:, coordinate], closed, rtol=1e-9, atol=1e-12)


def test_the_one_over_t_schedule_travels_forever_with_finite_noise():
    schedule = InverseTime(tau=20.0)
    rates = np.array([schedule(0.1, t) for t in range(1, 2_000_001)])
    sums, squares = np.cumsum(rates), np.cumsum(rates ** 2)
    # Σε grows like η₀τ·ln t without bound: each tenfold longer horizon adds η₀τ·ln 10 more.
    gains = [sums[10 ** k - 1] - sums[10 ** (k - 1) - 1] for k in (4, 5, 6)]
    assert gains == pytest.approx([0.1 * 20 * math.log(10)] * 3, rel=0.01)
    # Σε² converges, to η₀²τ²·ψ′(τ) (the trigamma function): the partial sum is already there.
    from scipy.special import polygamma

    assert squares[-1] == pytest.approx(0.1 ** 2 * 20 ** 2 * float(polygamma(1, 20.0)), rel=1e-4)
    assert (squares[-1] - squares[99_999]) / squares[-1] < 1e-3


def test_other_schedules():
    assert [StepDecay(every=2, gamma=0.5)(1.0, t) for t in range(1, 6)] == [1, 1, 0.5, 0.5, 0.25]
    cosine = Cosine(total=100)
    assert cosine(0.2, 1) == pytest.approx(0.2) and cosine(0.2, 101) == pytest.approx(0.0)
    assert cosine(0.2, 51) == pytest.approx(0.1)
    assert Constant()(0.3, 1000) == 0.3


def test_live_training_spreads_the_same_schedules_over_its_run():
    """The rate live training sets at each step, against torch's own schedulers (StepLR,
    CosineAnnealingLR; 1/t as LambdaLR of its formula) stepped once per training step."""
    import torch

    total = 30
    oracles = {
        "step decay": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=total // 3, gamma=0.5),
        "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total),
        "1/t": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1 / (1 + step / (total / 10))),
        "constant": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0),
    }
    assert set(oracles) == set(SCHEDULES)
    for name, make in oracles.items():
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler, expected = make(optimizer), []
        for _ in range(total):
            expected.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        schedule = over_run(name, total)
        np.testing.assert_allclose([schedule(0.1, step + 1) for step in range(total)], expected, rtol=1e-12,
                                   err_msg=name)


def test_divergence_is_marked_not_raised():
    surface = SURFACES["Rosenbrock"]
    trajectory = run_optimizer(surface, GD(), surface.start, 200, lr=0.1)
    assert trajectory.diverged_at is not None and trajectory.diverged_at < 20
    assert len(trajectory.points) == trajectory.diverged_at
    assert np.all(np.isfinite(trajectory.points))


def test_gradient_noise_is_seeded_and_scales_with_batch():
    surface = SURFACES["Quadratic bowl"]
    a = run_optimizer(surface, GD(), surface.start, 50, 0.05, noise=GradientNoise(scale=2.0, batch=4, seed=3))
    b = run_optimizer(surface, GD(), surface.start, 50, 0.05, noise=GradientNoise(scale=2.0, batch=4, seed=3))
    exact = run_optimizer(surface, GD(), surface.start, 50, 0.05)
    np.testing.assert_array_equal(a.points, b.points)
    exact_gradients = np.array([surface.gradient(*p) for p in a.points])
    noise = a.gradients - exact_gradients
    assert noise.std() == pytest.approx(1.0, rel=0.25)  # 2 / √4
    assert not np.allclose(a.points, exact.points)
