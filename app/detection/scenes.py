"""Fashion-MNIST detection scenes: one to three garments pasted on a blank canvas, each with its
box known by construction (the bounding box of its silhouette, the pixels brighter than the
segmentation scenes' threshold). A garment is placed where its box overlaps no earlier one by
more than a fifth (IoU), so that every box shows most of its garment. Fully determined by the
seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.detection.boxes import box_iou, xyxy_to_cxcywh
from app.segmentation.scenes import GARMENT, SILHOUETTE

MAX_OVERLAP = 0.2
TRIES = 30
# The small DETR's data: a fresh batch of training scenes per step, seeded by the step; the test
# scenes from Fashion-MNIST's test images.
TRAINING_BATCH = 32
TEST_SCENES, TEST_SEED = 1_000, 12_345


@dataclass(frozen=True, eq=False)
class DetectionScenes:
    images: np.ndarray  # (N, side, side) uint8
    boxes: list[np.ndarray]  # per scene (k, 4) float32 x0, y0, x1, y1 in pixels (x1, y1 exclusive)
    classes: list[np.ndarray]  # per scene (k,) int64 Fashion-MNIST class, 0–9

    def __len__(self) -> int:
        return len(self.images)

    def targets(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Scene `index`'s classes (k,) and boxes (k, 4) as DETR reads them: cx, cy, w, h as
        fractions of the side."""
        boxes = torch.from_numpy(self.boxes[index]) / self.images.shape[-1]
        return torch.from_numpy(self.classes[index]), xyxy_to_cxcywh(boxes)


def silhouette_box(garment: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the garment's pixels brighter than the threshold, within its 28×28."""
    rows, cols = np.nonzero(garment > SILHOUETTE)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def make_detection_scenes(images: np.ndarray, labels: np.ndarray, count: int, seed: int, side: int = 64,
                          garments: tuple[int, int] = (1, 3)) -> DetectionScenes:
    generator = np.random.default_rng(seed)
    canvas = np.zeros((count, side, side), np.uint8)
    all_boxes, all_classes = [], []
    for n in range(count):
        boxes, classes = [], []
        for index in generator.integers(0, len(images), generator.integers(garments[0], garments[1] + 1)):
            garment = images[index]
            if not (garment > SILHOUETTE).any():
                continue
            x0, y0, x1, y1 = silhouette_box(garment)
            for _ in range(TRIES):
                top, left = (int(v) for v in generator.integers(0, side - GARMENT + 1, 2))
                box = np.array([left + x0, top + y0, left + x1, top + y1], np.float32)
                if not boxes or box_iou(torch.from_numpy(box[None]), torch.from_numpy(np.stack(boxes)))[0].max() \
                        <= MAX_OVERLAP:
                    break
            else:
                continue  # no room left: the scene keeps fewer garments
            window = canvas[n, top: top + GARMENT, left: left + GARMENT]
            np.copyto(window, garment, where=garment > SILHOUETTE)
            boxes.append(box)
            classes.append(int(labels[index]))
        all_boxes.append(np.stack(boxes) if boxes else np.zeros((0, 4), np.float32))
        all_classes.append(np.array(classes, np.int64))
    return DetectionScenes(canvas, all_boxes, all_classes)
