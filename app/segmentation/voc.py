"""A torchvision segmentation network on a picture: the class of every pixel, how sure the network
is there (the winning probability) and where it hesitates (the entropy of its 21 probabilities),
and the share of the picture each class takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.segmentation.seg_grad_cam import Region, seg_grad_cam


@dataclass(frozen=True, eq=False)
class PixelClasses:
    mask: np.ndarray  # (H, W) uint8: the argmax class
    confidence: np.ndarray  # (H, W) float32: the argmax class's probability
    entropy: np.ndarray  # (H, W) float32, nats: 0 when sure, log(classes) when every class is as likely

    def shares(self, names: tuple[str, ...]) -> list[tuple[str, float]]:
        """(class, share of the pixels) for the classes present, largest first."""
        counts = np.bincount(self.mask.ravel(), minlength=len(names)) / self.mask.size
        return sorted(((names[c], float(counts[c])) for c in np.nonzero(counts)[0]), key=lambda p: -p[1])


@torch.inference_mode()
def pixel_classes(model: torch.nn.Module, batch: torch.Tensor) -> PixelClasses:
    """The first image of `batch` through a torchvision segmentation model (its "out" scores,
    already upsampled to the input's size)."""
    scores = model(batch.to(next(model.parameters()).device))["out"][0].float().cpu()  # (classes, H, W)
    probabilities = scores.softmax(dim=0)
    confidence, mask = probabilities.max(dim=0)
    entropy = -(probabilities * probabilities.clamp_min(1e-12).log()).sum(dim=0)
    return PixelClasses(mask.numpy().astype(np.uint8), confidence.numpy(), entropy.numpy())


def _head(model: torch.nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the backbone's last map, (B, K, h, w); the head's score grid, (B, classes, h', w'))."""
    from torchvision.models.segmentation.lraspp import LRASPP

    features = model.backbone(batch.to(next(model.parameters()).device))
    # LR-ASPP's head reads a low- and a high-level map; FCN's and DeepLab's only the last one.
    if isinstance(model, LRASPP):
        return features["high"], model.classifier(features)
    return features["out"], model.classifier(features["out"])


@torch.inference_mode()
def class_scores(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """(classes, h, w): the classifier's score maps before they are upsampled to the input, the
    grid FCN's 1×1 (or DeepLab's, or LR-ASPP's) head produces for this input size."""
    return _head(model, batch)[1][0].float().cpu()


def voc_seg_grad_cam(model: torch.nn.Module, batch: torch.Tensor, cls: int, region: Region) -> torch.Tensor:
    """Seg-Grad-CAM at the backbone's last map, (h, w), for the region's pixels of the scores
    upsampled to the input as the network's own forward does (bilinear)."""
    with torch.enable_grad():
        activation, grid = _head(model, batch[:1].detach().requires_grad_(True))
        scores = F.interpolate(grid, size=batch.shape[-2:], mode="bilinear", align_corners=False)
        return seg_grad_cam(activation, scores, cls, region).float().cpu()
