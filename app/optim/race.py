"""The race: which optimizers run, with what learning rates, from one start."""

from __future__ import annotations

from dataclasses import dataclass

from app.optim.optimizers import (
    GD,
    AdaGrad,
    Adam,
    AdamW,
    CourseMomentum,
    HeavyBall,
    Nesterov,
    Optimizer,
    RMSProp,
)
from app.optim.schedules import Constant
from app.optim.surfaces import Surface
from app.optim.trajectories import GradientNoise, Trajectory, run_optimizer


@dataclass(frozen=True)
class Racer:
    name: str
    optimizer: Optimizer
    lr: float
    noisy: bool = False  # SGD: the race's gradient noise applies to it


def default_racers(surface: Surface) -> dict[str, Racer]:
    """Every optimizer of the course, with learning rates that make a good first
    picture on `surface`: plain steps at the surface's gradient rate, PyTorch-form
    momentum at (1 − μ) of it (the same speed at rest), adaptive ones at its step size."""
    plain, step = surface.gd_lr, surface.step_size
    racers = [
        Racer("GD", GD(), plain),
        Racer("SGD", GD(), plain, noisy=True),
        Racer("Momentum (course)", CourseMomentum(lam=0.9), plain),
        Racer("Momentum (PyTorch)", HeavyBall(momentum=0.9), plain * 0.1),
        Racer("Nesterov", Nesterov(momentum=0.9), plain * 0.1),
        Racer("AdaGrad", AdaGrad(), step * 5),
        Racer("RMSProp", RMSProp(), step),
        Racer("Adam", Adam(), step),
        Racer("AdamW", AdamW(weight_decay=0.01), step),
    ]
    return {racer.name: racer for racer in racers}


def race(surface: Surface, racers: list[Racer], start: tuple[float, float], steps: int,
         schedule=Constant(), noise: GradientNoise | None = None) -> list[Trajectory]:
    """Every racer from the same start, with the same schedule and step count."""
    return [run_optimizer(surface, r.optimizer, start, steps, r.lr, schedule, noise if r.noisy else None, name=r.name)
            for r in racers]


@dataclass(frozen=True)
class RaceSettings:
    """Everything a race depends on; frozen and hashable, so results can be cached by it."""

    surface: Surface
    racers: tuple[Racer, ...]
    start: tuple[float, float]
    steps: int
    schedule: object = Constant()
    noise: GradientNoise = GradientNoise()

    def run(self) -> list[Trajectory]:
        return race(self.surface, list(self.racers), self.start, self.steps, self.schedule, self.noise)
