"""A torchvision segmentation network on a picture: the class of every pixel, how sure the network
is there (the winning probability) and where it hesitates (the entropy of its 21 probabilities),
and the share of the picture each class takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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


@torch.inference_mode()
def class_scores(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """(classes, h, w): the classifier's score maps before they are upsampled to the input, the
    grid FCN's 1×1 (or DeepLab's, or LR-ASPP's) head produces for this input size."""
    from torchvision.models.segmentation.lraspp import LRASPP

    features = model.backbone(batch.to(next(model.parameters()).device))
    # LR-ASPP's head reads a low- and a high-level map; FCN's and DeepLab's only the last one.
    head_input = features if isinstance(model, LRASPP) else features["out"]
    return model.classifier(head_input)[0].float().cpu()
