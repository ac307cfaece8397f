"""A segmentation network scored on scenes: its predicted masks, the mean IoU over the test set and
the mean boundary F-score per scene."""

from __future__ import annotations

import numpy as np
import torch

from app.segmentation.metrics import boundary_f_score, confusion, mean_iou
from app.segmentation.scenes import CLASSES, Scenes
from app.training.fashion_mnist import to_input


@torch.inference_mode()
def predicted_masks(model: torch.nn.Module, images: np.ndarray, batch_size: int = 200) -> np.ndarray:
    """(N, H, W) int64: the argmax class of every pixel."""
    model.eval()
    return np.concatenate([model(to_input(images[start: start + batch_size])).argmax(dim=1).numpy()
                           for start in range(0, len(images), batch_size)])


def scores(model: torch.nn.Module, scenes: Scenes) -> dict[str, float]:
    masks = predicted_masks(model, scenes.images)
    return {"miou": mean_iou(confusion(masks, scenes.masks, len(CLASSES))),
            "boundary_f": float(np.mean([boundary_f_score(p, t) for p, t in zip(masks, scenes.masks)]))}
