"""What the registry knows about a model before anything is built or downloaded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

Family = Literal["cnn", "mlp", "hybrid", "vit", "dino", "swin", "segmentation", "video", "flow", "detection"]
Framework = Literal["torchvision", "timm", "transformers"]
StateDict = dict[str, torch.Tensor]
# Turns a checkpoint's state dict into the one the built architecture expects.
Converter = Callable[[StateDict, torch.nn.Module], StateDict]


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side to `resize_size`, centre-crop `input_size` (unless `crop` is off:
    a segmentation network takes the whole picture, as torchvision's transform feeds it),
    normalise. With one channel the picture is first turned to grey (ITU-R 601 luma).
    `max_size` caps the longer side of an uncropped view (the shorter one then comes out
    smaller), so that a panorama's memory stays bounded."""

    input_size: int
    resize_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"
    crop: bool = True
    max_size: int | None = None
    # A video network's transform (torchvision's VideoClassification): every frame resized to
    # exactly (height, width) for the Kinetics ResNets, the aspect not kept, and without
    # antialiasing, as the weights were trained; and the clip length they were evaluated on.
    resize_hw: tuple[int, int] | None = None
    antialias: bool = True
    frames: int | None = None

    @property
    def channels(self) -> int:
        return len(self.mean)


@dataclass(frozen=True)
class WeightsFile:
    """One checkpoint file and every place it may come from.

    `sha256` is the full digest or its leading hex digits: torchvision publishes
    the first 8 in the file name, which torch.hub checks the same way.
    """

    filename: str
    url: str | None = None
    sha256: str | None = None
    hf_repo: str | None = None
    hf_filename: str = "model.safetensors"
    package_path: Callable[[], Path] | None = None
    size_mb: float | None = None
    convert: Converter | None = None
    source_note: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build the network, load its weights and feed it."""

    name: str
    title: str
    family: Family
    framework: Framework
    architecture: str
    preprocessing: Preprocessing
    num_params: int
    # Layers worth showing, in forward order: module names or torch.fx node names.
    layers: tuple[str, ...]
    weights: WeightsFile | None
    labels: Literal["imagenet-1k", "fashion-mnist", "voc", "kinetics-400", "coco"] | None = "imagenet-1k"
    build_kwargs: Mapping[str, object] = field(default_factory=dict)
    summary: str = ""
    # The module whose output Grad-CAM explains: the last convolutional stage.
    cam_layer: str | None = None
    # The registry name of the same network trained with register tokens, or without them
    # (Darcet et al. 2024): the DINO page's register toggle switches between the two.
    register_twin: str | None = None

    @property
    def has_classifier(self) -> bool:
        return self.labels is not None
