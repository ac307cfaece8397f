"""Class names, read from torchvision's weights metadata (no download)."""

from __future__ import annotations

from functools import cache

from pretrained.spec import ModelSpec

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


@cache
def imagenet_class_names() -> tuple[str, ...]:
    from torchvision.models import ResNet50_Weights

    return tuple(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


@cache
def voc_class_names() -> tuple[str, ...]:
    """Pascal VOC's 20 classes and the background, as torchvision's segmentation weights name them."""
    from torchvision.models.segmentation import FCN_ResNet50_Weights

    return tuple(FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1.meta["categories"])


@cache
def kinetics_class_names() -> tuple[str, ...]:
    """Kinetics-400's actions, as torchvision's video weights name them."""
    from torchvision.models.video import R3D_18_Weights

    return tuple(R3D_18_Weights.KINETICS400_V1.meta["categories"])


@cache
def coco_class_names() -> tuple[str, ...]:
    """COCO's 91 category ids as DETR numbers its outputs (id 0 and the ids COCO left unused are
    "N/A"), from torchvision's detection weights; DETR's output 91 is "no object"."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights

    names = list(FasterRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"])
    return ("N/A", *names[1:])


def class_names(spec: ModelSpec) -> tuple[str, ...] | None:
    """The names of the classifier's outputs, or None for a model without one (DINO)."""
    if spec.labels == "imagenet-1k":
        return imagenet_class_names()
    if spec.labels == "fashion-mnist":
        return FASHION_MNIST_CLASSES
    if spec.labels == "voc":
        return voc_class_names()
    if spec.labels == "kinetics-400":
        return kinetics_class_names()
    if spec.labels == "coco":
        return coco_class_names()
    return None
