"""From a small DETR's raw output to detections, and the scenes' input normalisation."""

from __future__ import annotations

import numpy as np
import torch

from app.detection.boxes import cxcywh_to_xyxy

SCENE_MEAN, SCENE_STD = 0.1, 0.25  # a scene is mostly black canvas: about its pixels' mean and spread


def scene_input(images: np.ndarray) -> torch.Tensor:
    """(B, side, side) uint8 → (B, 1, side, side) normalised float."""
    return ((torch.from_numpy(np.ascontiguousarray(images)).float() / 255 - SCENE_MEAN) / SCENE_STD)[:, None]


def detections(logits: torch.Tensor, boxes: torch.Tensor, side: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per image, every query's (box xyxy in pixels, most likely real class, its probability),
    the no-object class (the last) left out of the choice; (B, Q, C + 1) and (B, Q, 4)."""
    probabilities = logits.softmax(dim=-1)[..., :-1]
    scores, classes = probabilities.max(dim=-1)
    pixels = cxcywh_to_xyxy(boxes) * side
    return [(pixels[i].numpy(), classes[i].numpy(), scores[i].numpy()) for i in range(len(logits))]
