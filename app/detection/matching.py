"""DETR's bipartite matching (Carion et al. 2020): each target gets the one prediction that
costs least, no prediction gets two, by the Hungarian algorithm on a cost matrix.

The cost of giving target j to prediction i is
    class_weight · (−p_i(c_j)) + box_weight · ‖b_i − b_j‖₁ + giou_weight · (−GIoU(b_i, b_j)),
with DETR's weights 1, 5 and 2 and boxes as (cx, cy, w, h) fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from app.detection.boxes import cxcywh_to_xyxy, generalized_box_iou

DETR_WEIGHTS = (1.0, 5.0, 2.0)  # class, L1 box, GIoU


@dataclass(frozen=True)
class MatchingCosts:
    classes: np.ndarray  # (predictions, targets) −p_i(c_j)
    boxes: np.ndarray  # L1 distance of the boxes
    giou: np.ndarray  # −GIoU
    total: np.ndarray  # the weighted sum that is matched

    def of(self, pairs: tuple[np.ndarray, np.ndarray]) -> float:
        return float(self.total[pairs].sum())


def matching_costs(probabilities: torch.Tensor, boxes: torch.Tensor, target_classes: torch.Tensor,
                   target_boxes: torch.Tensor, weights: tuple[float, float, float] = DETR_WEIGHTS) -> MatchingCosts:
    """probabilities (P, classes + 1) after the softmax, boxes (P, 4) and target boxes (T, 4) in
    (cx, cy, w, h), target classes (T,)."""
    classes = -probabilities[:, target_classes]
    l1 = torch.cdist(boxes.double(), target_boxes.double(), p=1)
    giou = -generalized_box_iou(cxcywh_to_xyxy(boxes.double()), cxcywh_to_xyxy(target_boxes.double()))
    total = weights[0] * classes.double() + weights[1] * l1 + weights[2] * giou
    return MatchingCosts(*(t.detach().cpu().numpy() for t in (classes.double(), l1, giou, total)))


def hungarian_match(costs: MatchingCosts) -> tuple[np.ndarray, np.ndarray]:
    """(prediction indices, target indices) of the cheapest one-to-one assignment, by target."""
    return hungarian_match_total(costs.total)


def hungarian_match_total(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same on a (predictions, targets) matrix of total costs."""
    rows, cols = linear_sum_assignment(total)
    order = np.argsort(cols)
    return rows[order], cols[order]
