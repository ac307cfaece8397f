"""Two-dimensional loss surfaces for the optimizer race, each with its gradient in closed form.

Every formula takes an array module `xp` (math for scalars, numpy for grids,
torch for autograd checks), so one expression serves all three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np


@dataclass(frozen=True)
class Surface:
    name: str
    description: str
    view: tuple[tuple[float, float], tuple[float, float]]  # (x range, y range)
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    minimum_value: float | None  # None: unbounded below (the saddle)
    gd_lr: float  # a plain gradient step that makes a good first picture
    step_size: float  # how far (per coordinate) adaptive methods should move per step
    log_contours: bool = False  # contours of log(1 + f − f_min) show narrow valleys better

    def value(self, x, y, xp: ModuleType = math):
        raise NotImplementedError

    def gradient(self, x, y, xp: ModuleType = math):
        raise NotImplementedError

    def grid(self, resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, values) over the default view, values[i, j] = f(xs[j], ys[i])."""
        xs = np.linspace(*self.view[0], resolution)
        ys = np.linspace(*self.view[1], resolution)
        x, y = np.meshgrid(xs, ys)
        return xs, ys, self.value(x, y, np)


@dataclass(frozen=True)
class QuadraticBowl(Surface):
    """½(u² + κ v²) in coordinates (u, v) rotated by θ: a valley whose walls are
    κ times steeper than its floor — the picture behind "SGD zig-zags"."""

    condition: float = 10.0
    rotation_degrees: float = 30.0

    def _rotated(self, x, y, xp):
        c, s = math.cos(math.radians(self.rotation_degrees)), math.sin(math.radians(self.rotation_degrees))
        return c * x + s * y, -s * x + c * y

    def value(self, x, y, xp=math):
        u, v = self._rotated(x, y, xp)
        return 0.5 * (u * u + self.condition * v * v)

    def gradient(self, x, y, xp=math):
        u, v = self._rotated(x, y, xp)
        c, s = math.cos(math.radians(self.rotation_degrees)), math.sin(math.radians(self.rotation_degrees))
        du, dv = u, self.condition * v  # ∂f/∂u, ∂f/∂v; back through the rotation
        return c * du - s * dv, s * du + c * dv


class Rosenbrock(Surface):
    def value(self, x, y, xp=math):
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    def gradient(self, x, y, xp=math):
        return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


class Beale(Surface):
    def value(self, x, y, xp=math):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y ** 3) ** 2

    def gradient(self, x, y, xp=math):
        a, b, c = 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y ** 3
        gx = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y ** 3 - 1)
        gy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y * y
        return gx, gy


class Himmelblau(Surface):
    def value(self, x, y, xp=math):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def gradient(self, x, y, xp=math):
        a, b = x * x + y - 11, x + y * y - 7
        return 4 * x * a + 2 * b, 2 * a + 4 * y * b


class Rastrigin(Surface):
    def value(self, x, y, xp=math):
        return 20 + x * x - 10 * xp.cos(2 * math.pi * x) + y * y - 10 * xp.cos(2 * math.pi * y)

    def gradient(self, x, y, xp=math):
        return (2 * x + 20 * math.pi * xp.sin(2 * math.pi * x),
                2 * y + 20 * math.pi * xp.sin(2 * math.pi * y))


class Saddle(Surface):
    def value(self, x, y, xp=math):
        return x * x - y * y

    def gradient(self, x, y, xp=math):
        return 2 * x, -2 * y


class PlateauCliff(Surface):
    """A flat plateau (x < 0) ending in a cliff that drops into a gentle bowl at
    (2, 0): gradients vanish on the plateau and explode at the edge."""

    def _sigmoid(self, z, xp):
        return 1 / (1 + xp.exp(-z))

    def value(self, x, y, xp=math):
        edge = self._sigmoid(12 * x, xp)  # 0 on the plateau, 1 past the cliff
        return 3 * (1 - edge) + 0.1 * edge * ((x - 2) ** 2 + y * y)

    def gradient(self, x, y, xp=math):
        edge = self._sigmoid(12 * x, xp)
        d_edge = 12 * edge * (1 - edge)
        bowl = (x - 2) ** 2 + y * y
        gx = -3 * d_edge + 0.1 * (d_edge * bowl + edge * 2 * (x - 2))
        return gx, 0.1 * edge * 2 * y


SURFACES: dict[str, Surface] = {s.name: s for s in (
    QuadraticBowl("Quadratic bowl", "½(u² + κv²), rotated: walls κ times steeper than the valley floor.",
                  ((-3, 3), (-3, 3)), (-2.5, 1.8), ((0.0, 0.0),), 0.0, gd_lr=0.15, step_size=0.05),
    Rosenbrock("Rosenbrock", "(1−x)² + 100(y−x²)²: a curved, flat-bottomed valley.",
               ((-2, 2), (-1, 3)), (-1.5, 2.0), ((1.0, 1.0),), 0.0, gd_lr=1.5e-3, step_size=0.02,
               log_contours=True),
    Beale("Beale", "Sharp ridges and a flat region around the minimum at (3, ½).",
          ((-4.5, 4.5), (-4.5, 4.5)), (1.0, 1.4), ((3.0, 0.5),), 0.0, gd_lr=0.01, step_size=0.05,
          log_contours=True),
    Himmelblau("Himmelblau", "Four minima of equal height: where you start decides where you end.",
               ((-6, 6), (-6, 6)), (0.0, -0.5),
               ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)), 0.0,
               gd_lr=0.01, step_size=0.05, log_contours=True),
    Rastrigin("Rastrigin", "A bowl covered in bumps: many local minima, one global at the origin.",
              ((-5.12, 5.12), (-5.12, 5.12)), (3.2, 2.6), ((0.0, 0.0),), 0.0, gd_lr=2e-3, step_size=0.05),
    Saddle("Saddle", "x² − y²: a minimum along x, a maximum along y; start near y = 0 and watch who escapes.",
           ((-2, 2), (-2, 2)), (-1.8, 0.02), (), None, gd_lr=0.05, step_size=0.03),
    PlateauCliff("Plateau and cliff", "Flat for x < 0, a cliff at x = 0, a bowl at (2, 0): tiny then huge gradients.",
                 ((-3, 4), (-2.5, 2.5)), (-2.0, 1.5), ((2.0, 0.0),), 0.0, gd_lr=0.5, step_size=0.05),
)}
