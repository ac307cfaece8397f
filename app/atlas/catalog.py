"""The architectures of the course, as torchvision, timm or this project builds them.

Year and nominal depth are the papers' (depth: the weight layers the name counts); everything
measured about a network comes from the built module (app.atlas.cost, app.atlas.latency).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch

Kind = Literal["CNN", "transformer", "MLP"]


@dataclass(frozen=True)
class Architecture:
    key: str
    title: str
    year: int
    paper: str  # first author and year, as the course cites it
    kind: Kind
    framework: Literal["torchvision", "timm", "project"]
    builder: str  # torchvision.models.get_model / timm.create_model name, or the project's network
    input_size: int = 224
    channels: int = 3
    depth: int | None = None  # the paper's nominal depth
    build_kwargs: Mapping[str, object] = field(default_factory=dict)
    registry: str | None = None  # its name in the pretrained registry (the feature-map page), if there

    def build(self) -> torch.nn.Module:
        """A fresh, untrained module (cheap on the meta device: `with torch.device("meta")`)."""
        return _BUILDERS[self.framework](self)


def _torchvision(arch: Architecture) -> torch.nn.Module:
    import torchvision

    return torchvision.models.get_model(arch.builder, weights=None, **arch.build_kwargs)


def _timm(arch: Architecture) -> torch.nn.Module:
    import timm

    return timm.create_model(arch.builder, pretrained=False, **arch.build_kwargs)


def _project(arch: Architecture) -> torch.nn.Module:
    from app.training.networks import build

    return build(arch.builder, (arch.channels, arch.input_size, arch.input_size), 10)


_BUILDERS: dict[str, Callable[[Architecture], torch.nn.Module]] = {
    "torchvision": _torchvision, "timm": _timm, "project": _project}

# Built as torchvision ships their weights: GoogLeNet without its auxiliary classifiers,
# Inception v3 with them (its parameter count includes them); they run only in training mode.
ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("lenet5", "LeNet-5", 1998, "LeCun et al. 1998", "CNN", "project", "LeNet-5", 28, 1, 5),
    Architecture("alexnet", "AlexNet", 2012, "Krizhevsky et al. 2012", "CNN", "torchvision", "alexnet", depth=8,
                 registry="alexnet"),
    Architecture("vgg11", "VGG-11", 2014, "Simonyan & Zisserman 2014", "CNN", "torchvision", "vgg11", depth=11),
    Architecture("vgg16", "VGG-16", 2014, "Simonyan & Zisserman 2014", "CNN", "torchvision", "vgg16", depth=16,
                 registry="vgg16"),
    Architecture("vgg19", "VGG-19", 2014, "Simonyan & Zisserman 2014", "CNN", "torchvision", "vgg19", depth=19),
    Architecture("googlenet", "GoogLeNet", 2014, "Szegedy et al. 2014", "CNN", "torchvision", "googlenet", depth=22,
                 build_kwargs={"aux_logits": False, "init_weights": False}, registry="googlenet"),
    Architecture("inception_v3", "Inception v3", 2015, "Szegedy et al. 2015", "CNN", "torchvision", "inception_v3",
                 299, depth=42, build_kwargs={"aux_logits": True, "init_weights": False}),
    Architecture("resnet18", "ResNet-18", 2015, "He et al. 2015", "CNN", "torchvision", "resnet18", depth=18),
    Architecture("resnet50", "ResNet-50", 2015, "He et al. 2015", "CNN", "torchvision", "resnet50", depth=50,
                 registry="resnet50"),
    Architecture("resnet152", "ResNet-152", 2015, "He et al. 2015", "CNN", "torchvision", "resnet152", depth=152),
    Architecture("wide_resnet50_2", "Wide ResNet-50-2", 2016, "Zagoruyko & Komodakis 2016", "CNN", "torchvision",
                 "wide_resnet50_2", depth=50, registry="wide_resnet50_2"),
    Architecture("resnext50_32x4d", "ResNeXt-50 32×4d", 2016, "Xie et al. 2016", "CNN", "torchvision",
                 "resnext50_32x4d", depth=50, registry="resnext50_32x4d"),
    Architecture("densenet121", "DenseNet-121", 2016, "Huang et al. 2016", "CNN", "torchvision", "densenet121",
                 depth=121, registry="densenet121"),
    Architecture("mobilenet_v1", "MobileNet v1", 2017, "Howard et al. 2017", "CNN", "timm", "mobilenetv1_100",
                 depth=28),
    Architecture("mobilenet_v2", "MobileNet v2", 2018, "Sandler et al. 2018", "CNN", "torchvision", "mobilenet_v2",
                 registry="mobilenet_v2"),
    Architecture("mobilenet_v3_large", "MobileNet v3 large", 2019, "Howard et al. 2019", "CNN", "torchvision",
                 "mobilenet_v3_large", registry="mobilenet_v3_large"),
    Architecture("efficientnet_lite0", "EfficientNet-Lite0", 2020, "Tan & Le 2019 (Lite: 2020)", "CNN", "timm",
                 "tf_efficientnet_lite0", registry="efficientnet_lite0"),
    Architecture("repvgg_a2", "RepVGG-A2", 2021, "Ding et al. 2021", "CNN", "timm", "repvgg_a2", depth=22),
    Architecture("convnext_tiny", "ConvNeXt-T", 2022, "Liu et al. 2022", "CNN", "torchvision", "convnext_tiny",
                 registry="convnext_tiny"),
    Architecture("vit_b_16", "ViT-B/16", 2020, "Dosovitskiy et al. 2020", "transformer", "torchvision", "vit_b_16",
                 depth=12),
    Architecture("deit_s", "DeiT-S", 2020, "Touvron et al. 2020", "transformer", "timm", "deit_small_patch16_224",
                 depth=12),
    Architecture("swin_t", "Swin-T", 2021, "Liu et al. 2021", "transformer", "torchvision", "swin_t", depth=12),
    Architecture("mixer_b16", "MLP-Mixer B/16", 2021, "Tolstikhin et al. 2021", "MLP", "timm", "mixer_b16_224",
                 depth=12, registry="mixer_b16"),
    Architecture("convmixer_768_32", "ConvMixer-768/32", 2022, "Trockman & Kolter 2022", "CNN", "timm",
                 "convmixer_768_32", depth=32),
)
BY_KEY = {a.key: a for a in ARCHITECTURES}


def imagenet_top1(arch: Architecture) -> float | None:
    """ImageNet-1k top-1 (%) of the framework's default weights, from their metadata (read
    offline); None where the weights carry none (timm's, the project's)."""
    if arch.framework != "torchvision":
        return None
    import torchvision

    meta = torchvision.models.get_model_weights(arch.builder).DEFAULT.meta
    return meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
