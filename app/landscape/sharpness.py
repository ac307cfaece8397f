"""How sharp a minimum is, measured two ways on the page's own data: the width of the
basin along the drawn directions, and the top eigenvalue of the loss's Hessian.

The width is the comparison Li et al. (NeurIPS 2018) make with filter-normalised
directions. The Hessian eigenvalue is in parameter units, so it changes when the
weights are rescaled without changing the function (Dinh et al., ICML 2017): compare
it across networks with care.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from app.landscape.grid import EvaluationSet, LossGrid, Weights, flatten, unflatten

DOUBLING = 2.0  # the basin ends where the loss reaches this multiple of its value at the centre


def _crossing(distances: np.ndarray, values: np.ndarray, threshold: float) -> float | None:
    """The first distance (walking outward) at which `values` reaches `threshold`,
    linearly interpolated between the two grid points around it; None if never."""
    for k in range(1, len(values)):
        if values[k] >= threshold:
            fraction = (threshold - values[k - 1]) / (values[k] - values[k - 1])
            return float(distances[k - 1] + fraction * (distances[k] - distances[k - 1]))
    return None


@dataclass(frozen=True)
class BasinWidth:
    """Where the loss along one line first reaches DOUBLING × its centre value, on each
    side; None on a side where it stays below within the span (the width is then at
    least the span's)."""

    left: float | None  # distance from the centre, towards negative coordinates
    right: float | None

    @property
    def width(self) -> float | None:
        return None if self.left is None or self.right is None else self.left + self.right


def basin_width(axis: np.ndarray, values: np.ndarray, factor: float = DOUBLING) -> BasinWidth:
    """The basin's width along one line through the centre (the axis point at 0)."""
    centre = int(np.argmin(np.abs(axis)))
    if not np.isclose(axis[centre], 0.0, atol=1e-9 * max(1.0, float(np.ptp(axis)))):
        raise ValueError("the line must pass through the centre (0 on its axis)")
    threshold = factor * values[centre]
    right = _crossing(axis[centre:] - axis[centre], values[centre:], threshold)
    left = _crossing(axis[centre] - axis[centre::-1], values[centre::-1], threshold)
    return BasinWidth(left, right)


def basin_widths(surface: LossGrid, factor: float = DOUBLING) -> tuple[BasinWidth, BasinWidth]:
    """The basin's width along α (the row β = 0) and along β (the column α = 0)."""
    row, column = int(np.argmin(np.abs(surface.betas))), int(np.argmin(np.abs(surface.alphas)))
    return (basin_width(surface.alphas, surface.loss[row, :], factor),
            basin_width(surface.betas, surface.loss[:, column], factor))


@dataclass(frozen=True)
class TopEigenvalue:
    value: float
    iterations: int
    converged: bool  # the estimate moved by less than the tolerance in the last iteration


def hessian_vector_product(model: torch.nn.Module, weights: Weights, data: EvaluationSet):
    """v ↦ H·v for the mean cross-entropy at `weights` (double backward; the model's
    buffers as they are, eval mode). Returns the product on flat vectors."""
    names = sorted(weights)
    point = {name: weights[name].detach().clone().requires_grad_(True) for name in names}
    with torch.enable_grad():
        loss = F.cross_entropy(functional_call(model, point, (data.images,)), data.labels)
        gradient = torch.autograd.grad(loss, [point[n] for n in names], create_graph=True)

    def product(vector: torch.Tensor) -> torch.Tensor:
        pieces = unflatten(vector, weights)
        with torch.enable_grad():
            result = torch.autograd.grad(gradient, [point[n] for n in names], [pieces[n] for n in names],
                                         retain_graph=True)
        return torch.cat([r.reshape(-1) for r in result]).detach()

    return product


def _power_iteration(product, like: torch.Tensor, generator: torch.Generator, iterations: int, tolerance: float,
                     shift: float, should_stop: Callable[[], bool]) -> TopEigenvalue:
    """The eigenvalue of largest magnitude of H − shift·I by power iteration (Rayleigh quotient)."""
    vector = torch.randn(like.numel(), generator=generator).to(like)
    vector /= vector.norm()
    value = 0.0
    for step in range(1, iterations + 1):
        if should_stop():
            return TopEigenvalue(value, step - 1, False)
        image = product(vector) - shift * vector
        estimate = float(vector @ image)
        norm = image.norm()
        if norm == 0:
            return TopEigenvalue(0.0, step, True)
        vector = image / norm
        if step > 1 and abs(estimate - value) <= tolerance * abs(estimate):
            return TopEigenvalue(estimate, step, True)
        value = estimate
    return TopEigenvalue(value, iterations, False)


def top_hessian_eigenvalue(model: torch.nn.Module, weights: Weights, data: EvaluationSet, iterations: int = 100,
                           tolerance: float = 1e-3, seed: int = 0, on_product: Callable[[], None] | None = None,
                           should_stop: Callable[[], bool] = lambda: False) -> TopEigenvalue:
    """The largest eigenvalue of the Hessian of the mean loss with respect to `weights`,
    by power iteration on Hessian-vector products, starting from a seeded random vector;
    stops when the estimate changes by less than `tolerance` (relative). Power iteration
    finds the eigenvalue of largest magnitude; if that one is negative (not at a minimum),
    a second run on H − λ·I finds the largest one. `on_product` is called after each product."""
    products = hessian_vector_product(model, weights, data)

    def product(vector: torch.Tensor) -> torch.Tensor:
        result = products(vector)
        if on_product is not None:
            on_product()
        return result

    like = flatten(weights)
    generator = torch.Generator().manual_seed(seed)
    first = _power_iteration(product, like, generator, iterations, tolerance, 0.0, should_stop)
    if first.value >= 0 or not first.converged:
        return first
    shifted = _power_iteration(product, like, generator, iterations, tolerance, first.value, should_stop)
    return TopEigenvalue(shifted.value + first.value, first.iterations + shifted.iterations,
                         first.converged and shifted.converged)


def _width_words(width) -> str:
    if width.width is None:
        return "wider than the grid (the loss stays below double within the span on a side)"
    return f"{width.width:.2f}"


def sharpness_verdict(names: list[str], grids: list[LossGrid], tops: list[TopEigenvalue], images: int,
                      products: int) -> str:
    """What two computed grids and top eigenvalues (at most `products` Hessian-vector products
    each) show about the two networks' sharpness, in words."""
    widths = [basin_widths(grid, DOUBLING) for grid in grids]
    sums = [sum(w.width if w.width is not None else float("inf") for w in pair) for pair in widths]
    eigenvalues = [top.value for top in tops]
    each = "; ".join(f"{name}: {_width_words(a)} along α and {_width_words(b)} along β"
                     for name, (a, b) in zip(names, widths))
    narrower = names[int(np.argmin(sums))] if sums[0] != sums[1] else None
    verdict = f"On this grid the basin of **{narrower}** is narrower." if narrower else \
        "On this grid neither basin is narrower."
    steeper = names[int(np.argmax(eigenvalues))]
    agreement = "" if narrower is None else " — as the widths say" if steeper == narrower else \
        " — the widths say the opposite"
    unconverged = [name for name, top in zip(names, tops) if not top.converged]
    caveat = f" (not converged in {products} products for {', '.join(unconverged)})" if unconverged else ""
    return (f"**Sharpness, measured on this grid.** Width of the basin where the loss stays below {DOUBLING:g}× its "
            f"value at the trained weights, in units of the drawn directions (α = 1 moves every filter by its own "
            f"norm), interpolated between grid points — {each}. {verdict} Top eigenvalue of the Hessian at the "
            f"trained weights (power iteration on Hessian-vector products, the same {images:,} images): "
            f"{eigenvalues[0]:.3g} vs {eigenvalues[1]:.3g}{caveat}, larger for {steeper}{agreement}. Read the "
            "eigenvalue with care: it is loss per squared unit of raw parameter change, so it depends on the "
            "weights' scale; batch norm makes a layer ignore the scale of the weights feeding it, so rescaling "
            "them (and the running statistics with them) changes this eigenvalue but not the network (Li et al. "
            "§4; Dinh et al., ICML 2017, show the same for ReLU networks). The widths along filter-normalised "
            "directions are Li et al.'s own comparison.")
