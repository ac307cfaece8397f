"""The networks whose effective receptive fields the page compares, untrained and seeded (Luo
et al. show that random weights already give the Gaussian shape and its growth with depth),
each measured at the output of its last stage for a 224² input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.atlas.large_kernels import LargeKernelStack, stack_receptive_field

DEPTH = 4  # blocks in each large-kernel stack


@dataclass(frozen=True)
class Measured:
    model: torch.nn.Module
    layer: torch.nn.Module  # whose output's middle unit is differentiated
    layout: str  # "NCHW", "NHWC" or "NLC"


@dataclass(frozen=True)
class ErfSubject:
    key: str
    title: str
    kernels: str  # what its spatial mixing is, in words
    build: Callable[[], Measured]
    theoretical: int | None = None  # receptive field in pixels, where the page draws it


def _torchvision(name: str, layer: Callable[[torch.nn.Module], torch.nn.Module], layout: str) -> Callable[[], Measured]:
    def build() -> Measured:
        import torchvision

        model = torchvision.models.get_model(name, weights=None).eval()
        return Measured(model, layer(model), layout)

    return build


def _stack(kernel: int, decomposed: bool) -> Callable[[], Measured]:
    def build() -> Measured:
        stack = LargeKernelStack(kernel, depth=DEPTH, decomposed=decomposed).eval()
        return Measured(stack, stack[-1], "NCHW")

    return build


SUBJECTS: tuple[ErfSubject, ...] = (
    ErfSubject("resnet50", "ResNet-50", "3×3 stacks", _torchvision("resnet50", lambda m: m.layer4, "NCHW")),
    ErfSubject("convnext_tiny", "ConvNeXt-T", "7×7 depthwise", _torchvision("convnext_tiny", lambda m: m.features[7],
                                                                            "NCHW")),
    ErfSubject("replk31", "31×31 stack (RepLKNet)", "31×31 + 5×5 depthwise, 4 blocks", _stack(31, False),
               stack_receptive_field(31, DEPTH)),
    ErfSubject("slak51", "51×51 stack (SLaK)", "51×5 + 5×51 + 5×5 depthwise, 4 blocks",
               _stack(51, True), stack_receptive_field(51, DEPTH)),
    ErfSubject("vit_b_16", "ViT-B/16", "global attention", _torchvision("vit_b_16", lambda m: m.encoder.layers[-1],
                                                                       "NLC")),
    ErfSubject("swin_t", "Swin-T", "7×7 windows, shifted", _torchvision("swin_t", lambda m: m.features[-1], "NHWC")),
)
BY_KEY = {s.key: s for s in SUBJECTS}


def seeded(subject: ErfSubject, seed: int = 0) -> Measured:
    """The subject with seeded random weights; the global generator is left as it was, so other
    sessions' draws are not disturbed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return subject.build()
