"""The model-randomisation sanity check (Adebayo et al. 2018, "Sanity checks for
saliency maps"): explain the same image with the same architecture whose weights
are random. A map that explains the model must change a lot; one that looks the
same mostly shows the image (edges), whatever the network learned.

The paper randomises cascading from the top layer down; here every layer is
random at once (its "full" randomisation), the strongest form of the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.metrics import structural_similarity

import pretrained


def randomised_model(spec: pretrained.ModelSpec, seed: int = 0) -> torch.nn.Module:
    """The architecture of `spec` with seeded random weights, frozen like a loaded model.
    The global RNG is left as it was, so other sessions' draws are not disturbed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = pretrained.build_model(spec)
    return model.eval().requires_grad_(False)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the flattened values; tied values share the mean of their ranks."""
    _, inverse, counts = np.unique(values.reshape(-1), return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # the highest rank of each distinct value
    return (last - (counts - 1) / 2)[inverse]


def rank_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's ρ of two maps: the Pearson correlation of their average ranks.
    NaN when either map is constant (it ranks nothing)."""
    a, b = average_ranks(first), average_ranks(second)
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else float("nan")


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return np.zeros_like(values, np.float64) if high <= low else (values - low) / (high - low)


@dataclass(frozen=True)
class MapSimilarity:
    spearman: float  # rank correlation, -1 to 1 (NaN: a constant map)
    ssim: float  # structural similarity of the two maps scaled to [0, 1] each

    @property
    def comparable(self) -> bool:
        return bool(np.isfinite(self.spearman))


def map_similarity(trained: np.ndarray, randomised: np.ndarray) -> MapSimilarity:
    """How alike the trained model's map and the randomised model's map are, as in the paper:
    Spearman's rank correlation and SSIM (each map scaled to [0, 1] first)."""
    ssim = structural_similarity(_unit(trained), _unit(randomised), data_range=1.0)
    return MapSimilarity(rank_correlation(trained, randomised), float(ssim))
