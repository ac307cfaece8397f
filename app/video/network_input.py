"""A clip as a Kinetics network takes it: a number of evenly spaced frames, each resized and
centre-cropped as the weights' own transform does (torchvision's VideoClassification), normalised,
stacked along time."""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.functional as TF

from app.preprocess import model_view
from pretrained.spec import Preprocessing


def frame_indices(available: int, wanted: int) -> np.ndarray:
    """`wanted` evenly spaced indices into `available` frames (repeated when there are fewer)."""
    return np.rint(np.linspace(0, available - 1, wanted)).astype(int)


def clip_view(frames: np.ndarray, spec: Preprocessing, count: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (count, S, S, 3) uint8: the frames the network sees, as pictures."""
    return np.stack([model_view(frames[i], spec) for i in frame_indices(len(frames), count)])


def clip_batch(view: np.ndarray, spec: Preprocessing) -> torch.Tensor:
    """(T, S, S, 3) uint8 -> (1, 3, T, S, S) float, scaled to [0, 1] and normalised."""
    clip = torch.from_numpy(np.ascontiguousarray(view)).permute(3, 0, 1, 2).float() / 255  # (3, T, S, S)
    return TF.normalize(clip.transpose(0, 1), mean=list(spec.mean), std=list(spec.std)).transpose(0, 1)[None]

