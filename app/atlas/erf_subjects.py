"""The networks whose effective receptive fields the page compares, each measured at the output
of one of its four stages for a 224² input: seeded random weights for all (Luo et al. show that
random weights already give the Gaussian shape and its growth with depth) and, for those the
registry has, the same architecture with its trained weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.atlas.large_kernels import LargeKernelStack

DEPTH = 4  # blocks in each large-kernel stack
STAGES = ("1", "2", "3", "4 (last)")


@dataclass(frozen=True)
class Trained:
    """The registry's build of the architecture, whose module names may differ (timm's)."""
    registry: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class ErfSubject:
    key: str
    title: str
    kernels: str  # what its spatial mixing is, in words
    build: Callable[[], torch.nn.Module]  # untrained, eval mode
    stages: tuple[str, ...]  # the module whose output's middle unit is differentiated, per stage
    layout: str  # of those outputs: "NCHW", "NHWC" or "NLC" (tokens, a CLS token first)
    trained: Trained | None = None
    traceable: bool = True  # a convolutional graph whose theoretical field torch.fx can read


def _torchvision(name: str) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        import torchvision

        return torchvision.models.get_model(name, weights=None).eval()

    return build


def _stack(kernel: int, decomposed: bool) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        return LargeKernelStack(kernel, depth=DEPTH, decomposed=decomposed).eval()

    return build


_EVERY_OTHER = ("features.1", "features.3", "features.5", "features.7")  # torchvision's stages between downsamplings
SUBJECTS: tuple[ErfSubject, ...] = (
    ErfSubject("resnet50", "ResNet-50", "3×3 stacks", _torchvision("resnet50"),
               ("layer1", "layer2", "layer3", "layer4"), "NCHW", Trained("resnet50", ("layer1", "layer2", "layer3",
                                                                                      "layer4"))),
    ErfSubject("convnext_tiny", "ConvNeXt-T", "7×7 depthwise", _torchvision("convnext_tiny"), _EVERY_OTHER, "NCHW",
               Trained("convnext_tiny", _EVERY_OTHER)),
    ErfSubject("replk31", "31×31 stack (RepLKNet)", "31×31 + 5×5 depthwise, 4 blocks", _stack(31, False),
               ("1", "2", "3", "4"), "NCHW"),
    ErfSubject("slak51", "51×51 stack (SLaK)", "51×5 + 5×51 + 5×5 depthwise, 4 blocks", _stack(51, True),
               ("1", "2", "3", "4"), "NCHW"),
    ErfSubject("vit_b_16", "ViT-B/16", "global attention", _torchvision("vit_b_16"),
               tuple(f"encoder.layers.encoder_layer_{i}" for i in (2, 5, 8, 11)), "NLC",
               Trained("vit_b16", tuple(f"blocks.{i}" for i in (2, 5, 8, 11))), traceable=False),
    ErfSubject("swin_t", "Swin-T", "7×7 windows, shifted", _torchvision("swin_t"), _EVERY_OTHER, "NHWC",
               Trained("swin_t", ("layers.0", "layers.1", "layers.2", "layers.3")), traceable=False),
)
BY_KEY = {s.key: s for s in SUBJECTS}


def seeded(subject: ErfSubject, seed: int = 0) -> torch.nn.Module:
    """The subject with seeded random weights; the global generator is left as it was, so other
    sessions' draws are not disturbed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return subject.build()
