"""How faithful is an attribution map? Perturbation curves on one image.

Deletion and insertion (Petsiuk et al. 2018, RISE): remove the most-attributed
squares first and watch the model's probability for the class fall (a small
area is faithful), or start from a blurred image and put the most-attributed
squares back first (a large area is faithful). Removing the least-relevant
squares first must hurt little, so Blücher et al. (2024) score a map by the
symmetric relevance gain area(LeRF) − area(MoRF): least-relevant-first deletion
minus most-relevant-first deletion, higher is better.

"Removed" means replaced by a heavily blurred copy of the image: grey squares
would add sharp edges of their own that the network reacts to, which punishes
smooth maps for reasons that have nothing to do with faithfulness. Squares
rather than single pixels, so that a smooth map (Grad-CAM) and a speckled one
(Saliency) are compared on objects, not on how fast scattered holes destroy texture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF

from app.serving.model_lock import shared_use


class ConstantMap(ValueError):
    """A map whose squares all score the same gives no order to remove them in."""


@dataclass(frozen=True)
class Curve:
    fractions: np.ndarray  # share of the image's squares removed (or inserted), 0 to 1
    probabilities: np.ndarray  # the target's softmax probability at each step

    @property
    def area(self) -> float:
        """Area under the curve (trapezoid rule)."""
        return float(np.trapezoid(self.probabilities, self.fractions))


@dataclass(frozen=True)
class Faithfulness:
    deletion: Curve  # most relevant removed first: lower area is more faithful
    insertion: Curve  # most relevant put back first into the blurred image: higher is more faithful

    @property
    def least_relevant_first(self) -> Curve:
        """Deletion of the least relevant squares first. Removing the bottom k squares
        leaves the top n − k, which is the insertion curve's image at n − k squares:
        the insertion curve read backwards (insertion_counts makes that exact)."""
        return Curve(self.deletion.fractions, self.insertion.probabilities[::-1].copy())

    @property
    def symmetric_relevance_gain(self) -> float:
        """Blücher et al. 2024: area(LeRF) − area(MoRF); higher is better, about 0 for a random order."""
        return self.least_relevant_first.area - self.deletion.area


def removed_look(batch: torch.Tensor) -> torch.Tensor:
    """What a removed region is replaced by: a Gaussian blur with σ = 1/14 of the side."""
    sigma = batch.shape[-1] / 14
    kernel = 2 * round(3 * sigma) + 1
    return TF.gaussian_blur(batch, [kernel, kernel], [sigma, sigma])


def square_order(attribution: np.ndarray, block: int) -> torch.Tensor:
    """Indices of the `block`×`block` squares of the (S, S) map, highest mean first
    (ties in index order). Raises ConstantMap when every square scores the same."""
    cells = attribution.shape[0] // block
    scores = torch.from_numpy(np.ascontiguousarray(attribution[: cells * block, : cells * block], np.float32))
    scores = scores.reshape(cells, block, cells, block).mean(dim=(1, 3)).reshape(-1)  # (cells²,)
    if not bool(torch.isfinite(scores).all()) or float(scores.max() - scores.min()) == 0.0:
        raise ConstantMap("the map gives every square the same value, so it orders nothing: "
                          "no deletion or insertion curve can be read from it")
    return torch.argsort(-scores, stable=True)


def deletion_counts(squares: int, steps: int) -> np.ndarray:
    """Squares removed at each of the steps + 1 points, 0 to all."""
    return np.rint(np.linspace(0.0, 1.0, steps + 1) * squares).astype(int)


def insertion_counts(squares: int, steps: int) -> np.ndarray:
    """Squares inserted at each point: the deletion counts mirrored, so that inserting
    the top m squares equals deleting the bottom n − m at the mirrored point."""
    return squares - deletion_counts(squares, steps)[::-1]


def _original_masks(order: torch.Tensor, counts: np.ndarray, originals_are_top: bool, cells: int,
                    side: int) -> torch.Tensor:
    """(len(counts), 1, S, S): 1 where the original image shows, 0 where the blurred one does."""
    top, rest = (1.0, 0.0) if originals_are_top else (0.0, 1.0)
    masks = torch.full((len(counts), cells * cells), rest)
    for i, count in enumerate(counts):
        masks[i, order[:count]] = top
    masks = masks.reshape(len(counts), 1, cells, cells)
    return torch.nn.functional.interpolate(masks, size=(side, side), mode="nearest")


class Stopped(Exception):
    """The curves were asked to stop between two chunks."""


# A chunk of the curves' images should take about this long: a page's Grad-CAM, which takes the
# model alone, waits for the chunk in flight, and a job asked to stop stops after it.
CHUNK_SECONDS = 0.1
MAX_CHUNK = 8


def _probabilities(model: torch.nn.Module, batch: torch.Tensor, masks: torch.Tensor, target: int,
                   chunk: int | None, should_stop: Callable[[], bool]) -> np.ndarray:
    """The target's probability for each mixture of the image (mask 1) and its blur (mask 0),
    `chunk` images per forward pass (None: one image first, timed, then as many as take about
    CHUNK_SECONDS); raises Stopped when `should_stop()` says so between chunks."""
    device = next(model.parameters()).device
    batch = batch.to(device)
    blurred = removed_look(batch)
    probabilities = []
    start = 0
    while start < len(masks):
        if should_stop():
            raise Stopped
        size = chunk or 1
        keep = masks[start: start + size].to(device)
        images = batch * keep + blurred * (1 - keep)
        began = time.perf_counter()
        # Shared chunk by chunk, not for the whole curve: the curves run in the background for
        # seconds, and a page's Grad-CAM (which takes the model alone) must not wait behind them.
        with shared_use(model), torch.inference_mode():
            probabilities.append(torch.softmax(model(images).float(), dim=1)[:, target].cpu())
        if chunk is None:  # VGG-16 on two cores: one image a chunk; EfficientNet-Lite0: eight
            chunk = max(1, min(MAX_CHUNK, int(CHUNK_SECONDS / max(time.perf_counter() - began, 1e-6))))
        start += size
    return torch.cat(probabilities).numpy()


def faithfulness(
    model: torch.nn.Module,
    batch: torch.Tensor,
    attribution: np.ndarray,
    target: int,
    steps: int = 20,
    block: int = 8,
    chunk: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Faithfulness:
    """The deletion and insertion curves of the (S, S) `attribution` for class `target`,
    both evaluated in batched passes: 2 × (steps + 1) images in total, `chunk` per forward pass
    (None: as many as take about CHUNK_SECONDS), so that a page's Grad-CAM waits for at most one
    chunk and a job asked to stop stops within one."""
    side = attribution.shape[0]
    cells = side // block
    order = square_order(attribution, block)
    removed, inserted = deletion_counts(cells * cells, steps), insertion_counts(cells * cells, steps)
    masks = torch.cat([_original_masks(order, removed, False, cells, side),
                       _original_masks(order, inserted, True, cells, side)])
    probabilities = _probabilities(model, batch, masks, target, chunk, should_stop)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    deletion, insertion = probabilities[: steps + 1], probabilities[steps + 1:]
    return Faithfulness(Curve(fractions, deletion), Curve(fractions, insertion))


def random_order_map(side: int, seed: int = 0) -> np.ndarray:
    """A seeded random map: the order that no explanation at all achieves."""
    return np.random.default_rng(seed).random((side, side))
