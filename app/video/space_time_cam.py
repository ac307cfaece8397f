"""Grad-CAM in space and time (Selvaraju et al. 2017, over a clip): a layer's maps weighted by the
mean gradient of one class's score over time, height and width, summed, negatives cut; then
spread back over the clip's frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from app.serving.model_lock import shared_use
from app.video.space_time import LOGITS, SpaceTimeExtractor


def space_time_grad_cam(extractor: SpaceTimeExtractor, batch: torch.Tensor, layer: str, target: int) -> torch.Tensor:
    """(T', H', W') Grad-CAM of class `target` at `layer` for a (1, 3, T, S, S) clip."""
    clip = batch.to(extractor.device).clone().requires_grad_(True)  # the weights are frozen
    with shared_use(extractor.model), torch.enable_grad():
        outputs = extractor.graph_module(clip)
        score = outputs[LOGITS][0, target]
        gradient, = torch.autograd.grad(score, outputs[layer])
    maps = extractor.maps_of(outputs[layer][0].detach())
    gradients = extractor.maps_of(gradient[0])
    weights = gradients.mean(dim=(1, 2, 3))  # one per channel
    return F.relu(torch.einsum("c,cthw->thw", weights, maps)).float().cpu()


def over_frames(cam: torch.Tensor, frames: int, size: int) -> torch.Tensor:
    """(T', H', W') -> (frames, size, size), trilinearly, as Grad-CAM's map is spread over the input."""
    return F.interpolate(cam[None, None], size=(frames, size, size), mode="trilinear", align_corners=False)[0, 0]
