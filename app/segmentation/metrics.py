"""How good a segmentation is: the mean intersection over union of the classes (over a whole test
set, from one confusion matrix, as Pascal VOC scores it) and the boundary F-score (Perazzi et al.
2016 measure it per object; here per image over all class boundaries): the share of predicted
boundary pixels within `tolerance` pixels of a true one, and the reverse, combined."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def confusion(predicted: np.ndarray, target: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts, rows the true class, columns the predicted one."""
    pairs = target.astype(np.int64).ravel() * classes + predicted.astype(np.int64).ravel()
    return np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


def class_iou(matrix: np.ndarray) -> np.ndarray:
    """Per class: true positives over (true + predicted − true positives); NaN for a class that is
    neither present nor predicted."""
    hits = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - hits
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, hits / union, np.nan)


def mean_iou(matrix: np.ndarray) -> float:
    return float(np.nanmean(class_iou(matrix)))


def boundaries(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels with a 4-neighbour of another class."""
    edge = np.zeros(labels.shape, bool)
    vertical, horizontal = labels[1:] != labels[:-1], labels[:, 1:] != labels[:, :-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    return edge


def boundary_f_score(predicted: np.ndarray, target: np.ndarray, tolerance: int = 1) -> float:
    """F-score of the predicted class boundaries against the true ones, a pixel counting as matched
    when the other set has a pixel within `tolerance` (Chebyshev distance); 1 when neither has any."""
    mine, true = boundaries(predicted), boundaries(target)
    if not mine.any() and not true.any():
        return 1.0
    reach = np.ones((2 * tolerance + 1, 2 * tolerance + 1), bool)
    precision = (mine & ndimage.binary_dilation(true, reach)).sum() / max(mine.sum(), 1)
    recall = (true & ndimage.binary_dilation(mine, reach)).sum() / max(true.sum(), 1)
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
