"""What the DETR view says about the picture on screen, computed from the capture."""

from __future__ import annotations

import numpy as np
import torch

from app.detection.boxes import box_iou, cxcywh_to_xyxy
from app.detection.capture import DetrCapture


def ranked_queries(capture: DetrCapture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query indices, their most likely real class, its probability), most confident first;
    "no object" (the last class) is left out of the choice."""
    scores, classes = capture.probabilities[:, :-1].max(dim=-1)
    order = torch.argsort(scores, descending=True)
    return order.numpy(), classes[order].numpy(), scores[order].numpy()


def answering_no_object(capture: DetrCapture, queries: np.ndarray) -> int:
    """How many of `queries` give "no object" (the last class) their highest probability."""
    chosen = capture.probabilities[torch.as_tensor(queries, dtype=torch.long)]
    return int((chosen.argmax(dim=-1) == capture.probabilities.shape[1] - 1).sum())


def boxes_in_pixels(capture: DetrCapture, queries: np.ndarray, height: int, width: int) -> np.ndarray:
    """(k, 4) x0, y0, x1, y1 of the queries' boxes on a height × width picture."""
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    return (cxcywh_to_xyxy(capture.boxes[torch.as_tensor(queries, dtype=torch.long)]) * scale).numpy()


def share_inside(values: torch.Tensor | np.ndarray, box: np.ndarray, height: int, width: int) -> tuple[float, float]:
    """(share of an (h, w) map's mass in the cells whose centres lie inside `box` (x0, y0, x1, y1
    on a height × width picture), share of the cells that are)."""
    data = np.asarray(values, dtype=np.float64)
    rows, cols = data.shape
    ys, xs = (np.arange(rows) + 0.5) * height / rows, (np.arange(cols) + 0.5) * width / cols
    inside = ((ys[:, None] >= box[1]) & (ys[:, None] <= box[3])) & ((xs[None, :] >= box[0]) & (xs[None, :] <= box[2]))
    return float(data[inside].sum() / data.sum()), float(inside.mean())


def found(boxes: np.ndarray, classes: np.ndarray, truth: np.ndarray, truth_classes: np.ndarray,
          threshold: float = 0.5) -> int:
    """How many true boxes have a shown box of their class overlapping them by IoU ≥ `threshold`."""
    if not len(boxes) or not len(truth):
        return 0
    overlaps = box_iou(torch.as_tensor(truth, dtype=torch.float64), torch.as_tensor(boxes, dtype=torch.float64))[0]
    same = torch.as_tensor(truth_classes)[:, None] == torch.as_tensor(classes)[None, :]
    return int(((overlaps >= threshold) & same).any(dim=1).sum())


def greedy_total(total: np.ndarray) -> float:
    """Each target in turn takes the cheapest query not yet taken: what the matching improves on."""
    taken: set[int] = set()
    cost = 0.0
    for column in range(total.shape[1]):
        choice = min((i for i in range(total.shape[0]) if i not in taken), key=lambda i: total[i, column])
        taken.add(choice)
        cost += total[choice, column]
    return float(cost)
