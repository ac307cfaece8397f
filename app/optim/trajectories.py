"""Running optimizers on a surface: paths, losses and the glyphs of the replay."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.optim.optimizers import CoordinateState, Optimizer
from app.optim.schedules import Constant
from app.optim.surfaces import Surface

DIVERGED_BEYOND = 1e6  # |θ| past which a run counts as diverged


@dataclass(frozen=True)
class GradientNoise:
    """Minibatch noise: each gradient gets N(0, (scale/√batch)²) per coordinate, seeded."""

    scale: float = 0.0
    batch: int = 1
    seed: int = 0

    @property
    def std(self) -> float:
        return self.scale / math.sqrt(self.batch)


@dataclass(frozen=True, eq=False)
class Trajectory:
    name: str
    points: np.ndarray  # (K+1, 2): the start, then after each step
    losses: np.ndarray  # (K+1,)
    gradients: np.ndarray  # (K+1, 2): the (possibly noisy) gradient used at each point
    steps: np.ndarray  # (K+1, 2): θ_{k+1} − θ_k, the velocity the replay draws; 0 at the end
    effective_lr: np.ndarray | None  # (K+1, 2) per-coordinate rate of adaptive methods
    learning_rates: np.ndarray  # (K,)
    diverged_at: int | None  # the step at which θ or f stopped being finite and bounded
    momentum: bool = False  # whether the replay draws a velocity arrow

    def steps_to(self, tolerance: float, minimum: float | None) -> int | None:
        """The first step whose loss is within `tolerance` of the surface's minimum."""
        if minimum is None:
            return None
        close = np.flatnonzero(self.losses - minimum <= tolerance)
        return int(close[0]) if len(close) else None


def _bounded(x: float, y: float, loss: float) -> bool:
    return math.isfinite(loss) and abs(x) <= DIVERGED_BEYOND and abs(y) <= DIVERGED_BEYOND


def run_optimizer(surface: Surface, optimizer: Optimizer, start: tuple[float, float], steps: int, lr: float,
                  schedule=Constant(), noise: GradientNoise | None = None, name: str = "") -> Trajectory:
    """`steps` updates from `start`, on plain floats; stops early, marked diverged,
    when θ or f stops being finite or |θ| exceeds DIVERGED_BEYOND."""
    noisy = noise is not None and noise.std > 0
    shakes = np.random.default_rng(noise.seed).normal(0.0, noise.std, (steps + 1, 2)).tolist() if noisy else None
    state_x, state_y = CoordinateState(), CoordinateState()
    x, y = float(start[0]), float(start[1])
    points, losses, gradients, rates, effective = [], [], [], [], []
    diverged_at = None
    for t in range(1, steps + 2):
        try:
            loss = surface.value(x, y)
        except (OverflowError, ValueError):
            loss = math.inf
        if not _bounded(x, y, loss):
            diverged_at = t - 1
            break
        gx, gy = surface.gradient(x, y)
        if noisy:
            gx, gy = gx + shakes[t - 1][0], gy + shakes[t - 1][1]
        points.append((x, y))
        losses.append(loss)
        gradients.append((gx, gy))
        if t == steps + 1:
            break
        rate = schedule(lr, t)
        rates.append(rate)
        try:
            (x, rate_x), (y, rate_y) = optimizer.step(x, gx, state_x, rate, t), optimizer.step(y, gy, state_y, rate, t)
        except (OverflowError, ZeroDivisionError):
            x, rate_x, rate_y = math.inf, None, None
        effective.append((rate_x, rate_y))
    positions = np.array(points, dtype=np.float64).reshape(-1, 2)
    moves = np.zeros_like(positions)
    moves[:-1] = np.diff(positions, axis=0)
    adaptive = bool(effective) and effective[0][0] is not None
    return Trajectory(
        name=name or type(optimizer).__name__,
        points=positions,
        losses=np.array(losses, dtype=np.float64),
        gradients=np.array(gradients, dtype=np.float64).reshape(-1, 2),
        steps=moves,
        effective_lr=np.array((effective + effective[-1:])[: len(points)], dtype=np.float64) if adaptive else None,
        learning_rates=np.array(rates, dtype=np.float64),
        diverged_at=diverged_at,
        momentum=optimizer.has_momentum,
    )
