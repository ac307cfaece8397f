"""Mean average precision at IoU 0.5 (Pascal VOC's measure, all-point interpolation): per class,
detections sorted by score are true positives when they overlap a not yet claimed target of
their class by IoU ≥ 0.5; AP is the area under the precision–recall curve made monotone."""

from __future__ import annotations

import numpy as np
import torch

from app.detection.boxes import box_iou


def average_precision(scores: np.ndarray, correct: np.ndarray, targets: int) -> float:
    """One class: detections' scores and whether each is a true positive, `targets` in all."""
    if targets == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(correct[order])
    recall = np.concatenate([[0.0], hits / targets, [1.0]])
    precision = np.concatenate([[0.0], hits / np.arange(1, len(order) + 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone: the best precision at ≥ this recall
    steps = np.nonzero(recall[1:] != recall[:-1])[0]
    return float(((recall[steps + 1] - recall[steps]) * precision[steps + 1]).sum())


def mean_average_precision(detections: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                           targets: list[tuple[np.ndarray, np.ndarray]], classes: int,
                           threshold: float = 0.5) -> tuple[float, np.ndarray]:
    """detections per image: (boxes (n, 4) xyxy, classes (n,), scores (n,)); targets per image:
    (boxes (k, 4), classes (k,)). Returns (mAP over the classes with targets, AP per class)."""
    per_class = np.full(classes, np.nan)
    for c in range(classes):
        scores, correct, total = [], [], 0
        for (boxes, labels, confidence), (target_boxes, target_labels) in zip(detections, targets, strict=True):
            mine, theirs = boxes[labels == c], target_boxes[target_labels == c]
            total += len(theirs)
            order = np.argsort(-confidence[labels == c], kind="stable")
            claimed = np.zeros(len(theirs), dtype=bool)
            overlaps = (box_iou(torch.as_tensor(mine, dtype=torch.float64),
                                torch.as_tensor(theirs, dtype=torch.float64))[0].numpy()
                        if len(mine) and len(theirs) else np.zeros((len(mine), len(theirs))))
            for index in order:
                scores.append(confidence[labels == c][index])
                best = int(np.argmax(overlaps[index])) if len(theirs) else -1
                hit = best >= 0 and overlaps[index, best] >= threshold and not claimed[best]
                if hit:
                    claimed[best] = True
                correct.append(hit)
        per_class[c] = average_precision(np.array(scores), np.array(correct, dtype=float), total)
    return float(np.nanmean(per_class)), per_class
