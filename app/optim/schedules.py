"""Learning-rate schedules: the rate for step t (1-based) from the base rate η₀. The optimizer
race sets their parameters by hand; live training spreads them over its run (`over_run`)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    def __call__(self, base: float, t: int) -> float:
        return base


@dataclass(frozen=True)
class StepDecay:
    """η₀ · γ^⌊(t−1)/every⌋: a drop by γ every `every` steps."""

    every: int = 50
    gamma: float = 0.5

    def __call__(self, base: float, t: int) -> float:
        return base * self.gamma ** ((t - 1) // self.every)


@dataclass(frozen=True)
class InverseTime:
    """η₀ / (1 + (t−1)/τ): Σ ηₜ = ∞ (it can still travel anywhere) while Σ ηₜ² < ∞
    (the noise it injects stays finite) — the conditions of Robbins and Monro."""

    tau: float = 20.0

    def __call__(self, base: float, t: int) -> float:
        return base / (1 + (t - 1) / self.tau)


@dataclass(frozen=True)
class Cosine:
    """η₀ · ½(1 + cos(π (t−1)/T)), from η₀ down to 0 over T steps."""

    total: int = 200

    def __call__(self, base: float, t: int) -> float:
        return base * 0.5 * (1 + math.cos(math.pi * min(t - 1, self.total) / self.total))


SCHEDULES = {"constant": Constant, "step decay": StepDecay, "1/t": InverseTime, "cosine": Cosine}


def over_run(name: str, total: int):
    """Schedule `name` spread over a run of `total` steps: halved at each third of the run, τ a
    tenth of it, the cosine reaching 0 at its end."""
    return {"constant": lambda: Constant(), "step decay": lambda: StepDecay(every=max(1, total // 3), gamma=0.5),
            "1/t": lambda: InverseTime(tau=max(1.0, total / 10)), "cosine": lambda: Cosine(total=total)}[name]()
