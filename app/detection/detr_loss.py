"""DETR's set loss: match predictions to targets (app.detection.matching), then cross-entropy
over every query (the unmatched ones learn "no object", weighted 0.1), and for the matched
ones 5 × L1 + 2 × (1 − GIoU) on the boxes, averaged over the targets; summed over the decoder
layers (the auxiliary losses)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from app.detection.boxes import cxcywh_to_xyxy, generalized_box_iou
from app.detection.matching import hungarian_match_total, matching_costs

NO_OBJECT_WEIGHT = 0.1


def set_loss(logits: torch.Tensor, boxes: torch.Tensor, target_classes: list[torch.Tensor],
             target_boxes: list[torch.Tensor]) -> torch.Tensor:
    """logits (B, Q, C + 1), boxes (B, Q, 4); per image its classes (k,) and boxes (k, 4) cxcywh."""
    batch, queries, outputs = logits.shape
    no_object = outputs - 1
    wanted = torch.full((batch, queries), no_object, dtype=torch.long)
    predicted, matched_targets = [], []
    counts = [len(c) for c in target_classes]
    if sum(counts):
        # One cost matrix for the whole batch (every query against every target), each image
        # then matched on its own block: a twentieth of the time of a matrix per image.
        with torch.no_grad():
            costs = matching_costs(logits.softmax(dim=-1).reshape(-1, outputs), boxes.detach().reshape(-1, 4),
                                   torch.cat(target_classes), torch.cat(target_boxes)).total.reshape(batch, queries, -1)
        first = 0
        for image, count in enumerate(counts):
            if count:
                rows, cols = hungarian_match_total(costs[image, :, first: first + count])
                wanted[image, rows] = target_classes[image][cols]
                predicted.append(boxes[image, rows])
                matched_targets.append(target_boxes[image][cols])
            first += count
    weight = torch.ones(outputs)
    weight[no_object] = NO_OBJECT_WEIGHT
    loss = F.cross_entropy(logits.reshape(-1, outputs), wanted.reshape(-1), weight=weight)
    if predicted:
        ours, theirs = torch.cat(predicted), torch.cat(matched_targets)
        count = max(len(theirs), 1)
        l1 = (ours - theirs).abs().sum() / count
        giou = (1 - torch.diag(generalized_box_iou(cxcywh_to_xyxy(ours), cxcywh_to_xyxy(theirs)))).sum() / count
        loss = loss + 5 * l1 + 2 * giou
    return loss
