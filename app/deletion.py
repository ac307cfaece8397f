"""The deletion curve (Petsiuk et al., RISE): remove the most-attributed pixels
first and watch the model's confidence fall. A faithful map makes it fall fast
(a small area under the curve); a random order is the reference.

"Removed" means replaced by a heavily blurred copy of the image: grey squares
would add sharp edges of their own that the network reacts to, which punishes
smooth maps for reasons that have nothing to do with faithfulness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF

from app.model_lock import shared_use


@dataclass(frozen=True)
class DeletionCurve:
    fractions: np.ndarray  # share of pixels removed, 0 to 1
    probabilities: np.ndarray  # the target's softmax probability at each step

    @property
    def area(self) -> float:
        """Area under the curve (trapezoid rule); lower is more faithful."""
        return float(np.trapezoid(self.probabilities, self.fractions))


def deletion_curve(
    model: torch.nn.Module,
    batch: torch.Tensor,
    attribution: np.ndarray,
    target: int,
    steps: int = 20,
    block: int = 8,
    chunk: int = 8,
) -> DeletionCurve:
    """Removes `block`×`block` squares in order of decreasing mean `attribution`
    (S, S), replacing them by the blurred image, in `steps` equal shares. Squares rather than single pixels, so that a smooth
    map (Grad-CAM) and a speckled one (Saliency) are compared on objects, not on
    how fast scattered holes destroy texture."""
    side = attribution.shape[0]
    cells = side // block
    scores = torch.from_numpy(np.ascontiguousarray(attribution[: cells * block, : cells * block], np.float32))
    scores = scores.reshape(cells, block, cells, block).mean(dim=(1, 3)).reshape(-1)  # (cells²,)
    order = torch.argsort(-scores, stable=True)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    masks = torch.ones(len(fractions), cells * cells)
    for i, fraction in enumerate(fractions):
        masks[i, order[: round(fraction * cells * cells)]] = 0.0
    masks = masks.reshape(len(fractions), 1, cells, cells)
    masks = torch.nn.functional.interpolate(masks, size=(side, side), mode="nearest")  # (steps+1, 1, S, S)
    device = next(model.parameters()).device
    batch = batch.to(device)
    blurred = removed_look(batch)
    probabilities = []
    with shared_use(model), torch.inference_mode():
        for start in range(0, len(fractions), chunk):
            keep = masks[start: start + chunk].to(device)
            images = batch * keep + blurred * (1 - keep)
            probabilities.append(torch.softmax(model(images).float(), dim=1)[:, target].cpu())
    return DeletionCurve(fractions, torch.cat(probabilities).numpy())


def removed_look(batch: torch.Tensor) -> torch.Tensor:
    """What a removed region is replaced by: a Gaussian blur with σ = 1/14 of the side."""
    sigma = batch.shape[-1] / 14
    kernel = 2 * round(3 * sigma) + 1
    return TF.gaussian_blur(batch, [kernel, kernel], [sigma, sigma])


def random_deletion_curve(model, batch, target: int, steps: int = 20, seed: int = 0) -> DeletionCurve:
    """The same removal in a seeded random order: what no explanation at all achieves."""
    side = batch.shape[-1]
    random_map = np.random.default_rng(seed).random((side, side))
    return deletion_curve(model, batch, random_map, target, steps)
