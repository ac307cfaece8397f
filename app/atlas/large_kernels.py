"""Stacks of large-kernel blocks, built from the papers' block definitions (timm builds neither):
RepLKNet's (Ding et al. 2022: a 31×31 depthwise convolution between two 1×1 ones, with a small
5×5 depthwise branch beside it, on a shortcut) and SLaK's decomposed kernel (Liu et al. 2022:
51×5 and 5×51 depthwise convolutions beside the 5×5; SLaK's weight sparsity is left out, it
does not change which pixels a unit can reach). Untrained, they show what the kernel size alone
does to the effective receptive field, as Luo et al. and RepLKNet's Figure 1 compare."""

from __future__ import annotations

import torch
from torch import nn

STEM = 4  # a 4×4 patchifying stem, stride 4, as ConvNeXt's


def _depthwise(channels: int, height: int, width: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, (height, width), padding=(height // 2, width // 2), groups=channels,
                     bias=False)


class LargeKernelBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, small: int = 5, decomposed: bool = False):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.expand = nn.Conv2d(channels, channels, 1)
        shapes = [(kernel, small), (small, kernel), (small, small)] if decomposed else [(kernel, kernel), (small, small)]
        self.branches = nn.ModuleList(_depthwise(channels, h, w) for h, w in shapes)
        self.project = nn.Conv2d(channels, channels, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.expand(self.norm(x)))
        return x + self.project(self.act(sum(branch(y) for branch in self.branches)))


class LargeKernelStack(nn.Sequential):
    """A stem and `depth` blocks: its output is the feature map whose ERF is measured."""

    def __init__(self, kernel: int, depth: int = 4, channels: int = 64, decomposed: bool = False):
        super().__init__(nn.Conv2d(3, channels, STEM, stride=STEM),
                         *[LargeKernelBlock(channels, kernel, decomposed=decomposed) for _ in range(depth)])
        self.kernel, self.depth = kernel, depth

    @property
    def theoretical_receptive_field(self) -> int:
        return stack_receptive_field(self.kernel, self.depth)


def stack_receptive_field(kernel: int, depth: int) -> int:
    """Input pixels on a side: the stem's 4, then each block's largest kernel at stride 4."""
    return STEM + depth * (kernel - 1) * STEM
