"""The optimizers of the course, one small class each, the update rule readable at a glance.

Each rule is written for one coordinate, as the course writes it: `step(p, g, s, lr, t)`
takes the coordinate's value p, its gradient g, its state s, the learning rate of
step t (1-based), and returns the new value and, for adaptive methods, the
coordinate's effective learning rate. Plain Python floats: a 2-D race of six
optimizers over 500 steps takes a few milliseconds. Where PyTorch has the
optimizer, the rule is PyTorch's, term for term (tests compare with torch.optim).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class CoordinateState:
    """What an optimizer remembers about one coordinate."""

    __slots__ = ("velocity", "squares")

    def __init__(self) -> None:
        self.velocity = 0.0  # momentum buffer, or Adam's first moment
        self.squares = 0.0  # AdaGrad's sum, RMSProp's and Adam's average of g²


@dataclass(frozen=True)
class Optimizer:
    has_momentum = False

    def step(self, p: float, g: float, s: CoordinateState, lr: float, t: int) -> tuple[float, float | None]:
        raise NotImplementedError


@dataclass(frozen=True)
class GD(Optimizer):
    """θ ← θ − η g (SGD is the same rule on noisy gradients)."""

    def step(self, p, g, s, lr, t):
        return p - lr * g, None


@dataclass(frozen=True)
class CourseMomentum(Optimizer):
    """The course's form: v ← λv − (1−λ)g, θ ← θ + ηv (v a running average of −g)."""

    lam: float = 0.9
    has_momentum = True

    def step(self, p, g, s, lr, t):
        s.velocity = self.lam * s.velocity - (1 - self.lam) * g
        return p + lr * s.velocity, None


@dataclass(frozen=True)
class HeavyBall(Optimizer):
    """PyTorch's SGD momentum: b ← μb + g, θ ← θ − ηb."""

    momentum: float = 0.9
    has_momentum = True

    def step(self, p, g, s, lr, t):
        s.velocity = self.momentum * s.velocity + g
        return p - lr * s.velocity, None


@dataclass(frozen=True)
class Nesterov(Optimizer):
    """PyTorch's Nesterov: b ← μb + g, θ ← θ − η(g + μb): a look-ahead along the velocity."""

    momentum: float = 0.9
    has_momentum = True

    def step(self, p, g, s, lr, t):
        s.velocity = self.momentum * s.velocity + g
        return p - lr * (g + self.momentum * s.velocity), None


@dataclass(frozen=True)
class AdaGrad(Optimizer):
    """s ← s + g², θ ← θ − η g / (√s + ε): each coordinate slows by its own history."""

    eps: float = 1e-10

    def step(self, p, g, s, lr, t):
        s.squares += g * g
        rate = lr / (math.sqrt(s.squares) + self.eps)
        return p - rate * g, rate


@dataclass(frozen=True)
class RMSProp(Optimizer):
    """s ← αs + (1−α)g², θ ← θ − η g / (√s + ε): AdaGrad with a fading memory."""

    alpha: float = 0.99
    eps: float = 1e-8

    def step(self, p, g, s, lr, t):
        s.squares = self.alpha * s.squares + (1 - self.alpha) * g * g
        rate = lr / (math.sqrt(s.squares) + self.eps)
        return p - rate * g, rate


@dataclass(frozen=True)
class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η m̂ / (√v̂ + ε) with the bias
    corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Weight decay here is L2: g ← g + λθ."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    has_momentum = True

    def adam(self, p, g, s, lr, t):
        s.velocity = self.beta1 * s.velocity + (1 - self.beta1) * g
        s.squares = self.beta2 * s.squares + (1 - self.beta2) * g * g
        rate = lr / (math.sqrt(s.squares / (1 - self.beta2 ** t)) + self.eps)
        return p - rate * s.velocity / (1 - self.beta1 ** t), rate

    def step(self, p, g, s, lr, t):
        return self.adam(p, g + self.weight_decay * p, s, lr, t)


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − ηλ) first, then Adam's step on g."""

    weight_decay: float = 0.01

    def step(self, p, g, s, lr, t):
        return self.adam(p * (1 - lr * self.weight_decay), g, s, lr, t)
