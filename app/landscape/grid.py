"""Loss landscapes of real networks (Li et al., NeurIPS 2018): directions in weight
space, the exact loss on a grid of moved weights, and the training path projected.

Every grid point is the loss of the network with weights θ* + α·d₁ + β·d₂ on the
stated evaluation set, in eval mode (batch norm uses its running statistics).
The weights are never written into the model: `torch.func.functional_call` runs
it with each point's parameters, so a point costs one forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

Weights = dict[str, torch.Tensor]  # parameter name -> tensor


def parameters_of(state: dict[str, torch.Tensor], model: torch.nn.Module) -> Weights:
    """The trainable parameters of a state dict (buffers such as BN statistics left out)."""
    names = {name for name, _ in model.named_parameters()}
    return {name: tensor.detach().float() for name, tensor in state.items() if name in names}


def filter_normalized_direction(weights: Weights, seed: int) -> Weights:
    """A random direction scaled filter by filter to the weights' own norms:
    for each filter i of a weight of two or more dimensions, dᵢ ← dᵢ·‖wᵢ‖/‖dᵢ‖;
    biases and batch-norm parameters (one dimension) get 0 ("biasbn ignore")."""
    generator = torch.Generator().manual_seed(seed)
    direction = {}
    for name, weight in weights.items():
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight)
            continue
        random = torch.randn(weight.shape, generator=generator)
        filters, rows = random.reshape(weight.shape[0], -1), weight.reshape(weight.shape[0], -1)
        scale = rows.norm(dim=1, keepdim=True) / filters.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (filters * scale).reshape(weight.shape)
    return direction


def flatten(weights: Weights) -> torch.Tensor:
    """One vector, parameters in name order (so dicts read from different files line up)."""
    return torch.cat([weights[name].reshape(-1) for name in sorted(weights)])


def unflatten(vector: torch.Tensor, like: Weights) -> Weights:
    result, start = {}, 0
    for name in sorted(like):
        result[name] = vector[start: start + like[name].numel()].reshape(like[name].shape)
        start += like[name].numel()
    return result


@dataclass(frozen=True, eq=False)
class PathPlane:
    directions: tuple[Weights, Weights]  # orthonormal (as flat vectors)
    explained: tuple[float, float]  # share of the path's variance along each
    coordinates: np.ndarray  # (checkpoints, 2): the path projected, the final weights at (0, 0)


def pca_directions(path: list[Weights]) -> PathPlane:
    """The two principal directions of the training path around its end point, as Li
    et al.'s code does it (§6): PCA (centred) of the offsets θᵢ − θ_final; the path
    projected onto them, so the final weights sit at (0, 0)."""
    if len(path) < 4:
        raise ValueError(f"a plane of the path needs at least 4 checkpoints (3 offsets from the end); "
                         f"this run has {len(path)}")
    final = flatten(path[-1])
    offsets = torch.stack([flatten(p) - final for p in path[:-1]]).double()  # (T, P)
    _, singular, basis = torch.linalg.svd(offsets - offsets.mean(dim=0), full_matrices=False)
    variance = singular ** 2
    explained = (variance / variance.sum()).tolist()
    components = basis[:2]  # (2, P), orthonormal rows
    coordinates = (torch.cat([offsets, torch.zeros(1, offsets.shape[1], dtype=offsets.dtype)]) @ components.T).float()
    components = components.float()
    return PathPlane((unflatten(components[0], path[-1]), unflatten(components[1], path[-1])),
                     (explained[0], explained[1] if len(explained) > 1 else 0.0), coordinates.numpy())


@dataclass(frozen=True, eq=False)
class EvaluationSet:
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def point_weights(origin: Weights, directions: tuple[Weights, ...], coefficients: tuple[float, ...]) -> Weights:
    return {name: origin[name] + sum(c * d[name] for c, d in zip(coefficients, directions))
            for name in origin}


@torch.inference_mode()
def loss_and_accuracy(model: torch.nn.Module, weights: Weights, data: EvaluationSet) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` with `weights` (its buffers as they are), eval mode.
    No other thread may use `model` meanwhile: functional_call swaps its parameters."""
    logits = functional_call(model, weights, (data.images,))
    return float(F.cross_entropy(logits, data.labels)), float((logits.argmax(1) == data.labels).float().mean())


@dataclass(frozen=True, eq=False)
class LossGrid:
    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray  # (len(betas), len(alphas)), NaN where not computed (yet)
    accuracy: np.ndarray


def coarse_indices(count: int, coarse: int) -> list[int]:
    """About `coarse` evenly spread indices of an axis of `count` points, both ends included."""
    return sorted(set(np.round(np.linspace(0, count - 1, min(coarse, count))).astype(int).tolist()))


def grid_points(alphas: np.ndarray, betas: np.ndarray, coarse_first: int | None = None) -> list[tuple[int, int]]:
    """(row, column) indices to evaluate; with `coarse_first`, those of a sub-grid of
    about that many points per side come first, so a rough picture exists early."""
    every = [(i, j) for i in range(len(betas)) for j in range(len(alphas))]
    if not coarse_first or coarse_first >= len(alphas):
        return every
    rows, cols = set(coarse_indices(len(betas), coarse_first)), set(coarse_indices(len(alphas), coarse_first))
    coarse = [(i, j) for i, j in every if i in rows and j in cols]
    chosen = set(coarse)
    return coarse + [p for p in every if p not in chosen]


def evaluate_grid(model: torch.nn.Module, origin: Weights, directions: tuple[Weights, Weights], data: EvaluationSet,
                  alphas: np.ndarray, betas: np.ndarray,
                  on_point: Callable[[int, int, float, float, int], None] | None = None,
                  should_stop: Callable[[], bool] = lambda: False, coarse_first: int | None = 9) -> LossGrid:
    """The loss and accuracy at every (α, β), coarse sub-grid first; `on_point(i, j,
    loss, accuracy, done)` after each point; stops early (NaN left) when asked."""
    model.eval()
    loss = np.full((len(betas), len(alphas)), np.nan)
    accuracy = np.full_like(loss, np.nan)
    for done, (i, j) in enumerate(grid_points(alphas, betas, coarse_first), start=1):
        if should_stop():
            break
        weights = point_weights(origin, directions, (float(alphas[j]), float(betas[i])))
        loss[i, j], accuracy[i, j] = loss_and_accuracy(model, weights, data)
        if on_point is not None:
            on_point(i, j, loss[i, j], accuracy[i, j], done)
    return LossGrid(alphas, betas, loss, accuracy)


def drawable(surface: LossGrid, coarse: int = 9) -> LossGrid | None:
    """What can be drawn of a grid that is still filling in, with no value made up: all
    of it once complete, else its coarse sub-grid once that is, else nothing. (Contours
    cannot be drawn through the scattered coarse points of the fine grid.)"""
    if np.isfinite(surface.loss).all():
        return surface
    rows, cols = coarse_indices(len(surface.betas), coarse), coarse_indices(len(surface.alphas), coarse)
    sub = LossGrid(surface.alphas[cols], surface.betas[rows], surface.loss[np.ix_(rows, cols)],
                  surface.accuracy[np.ix_(rows, cols)])
    return sub if np.isfinite(sub.loss).all() else None


def evaluate_line(model: torch.nn.Module, start: Weights, direction: Weights, data: EvaluationSet,
                  alphas: np.ndarray, on_point: Callable[[], None] | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy along start + α·direction; `on_point()` after each point; stops
    early (NaN left) when asked."""
    model.eval()
    loss, accuracy = np.full(len(alphas), np.nan), np.full(len(alphas), np.nan)
    for index, alpha in enumerate(alphas):
        if should_stop():
            break
        loss[index], accuracy[index] = loss_and_accuracy(model, point_weights(start, (direction,), (float(alpha),)),
                                                         data)
        if on_point is not None:
            on_point()
    return loss, accuracy


def difference(a: Weights, b: Weights) -> Weights:
    return {name: a[name] - b[name] for name in a}


@torch.inference_mode()
def per_example_losses(model: torch.nn.Module, weights: Weights, data: EvaluationSet, batch: int = 2000) -> torch.Tensor:
    """Each example's cross-entropy (for the full-set check and its standard error)."""
    model.eval()
    losses = [F.cross_entropy(functional_call(model, weights, (data.images[s: s + batch],)),
                              data.labels[s: s + batch], reduction="none") for s in range(0, len(data), batch)]
    return torch.cat(losses)
