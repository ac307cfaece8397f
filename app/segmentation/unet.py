"""A small U-Net (Ronneberger et al. 2015): a contracting path of two 3×3 convolutions and a
2×2 max-pool per level, and a symmetric expanding path whose every level upsamples (a 2×2
transposed convolution, or bilinear) and, with skip connections, concatenates the contracting
path's map of the same size before its two convolutions. Without the skips the decoder sees only
what came up through the bottleneck: the course's lesson on why U-Net has them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def double_conv(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(),
                         nn.Conv2d(outputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU())


class Up(nn.Module):
    """One expanding level: upsample ×2, [concatenate the skip,] two convolutions."""

    def __init__(self, inputs: int, outputs: int, skip: bool, upsampling: str = "transposed"):
        super().__init__()
        self.skip = skip
        if upsampling == "transposed":
            self.upsample = nn.ConvTranspose2d(inputs, outputs, 2, stride=2)
        else:
            self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                          nn.Conv2d(inputs, outputs, 1))
        self.conv = double_conv(2 * outputs if skip else outputs, outputs)

    def forward(self, x: torch.Tensor, skipped: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the upsampled input (B, outputs, 2H, 2W), the level's output (B, outputs, 2H, 2W))."""
        upsampled = self.upsample(x)
        return upsampled, self.conv(torch.cat([skipped, upsampled], dim=1) if self.skip else upsampled)


@dataclass(frozen=True, eq=False)
class Paths:
    """Every map of one pass, (B, C, H, W) each; lists run from the picture's size downwards for
    the encoder and upwards for the decoder."""

    encoder: list[torch.Tensor]  # each contracting level's output: the tensors the skips hand over
    bottleneck: torch.Tensor
    upsampled: list[torch.Tensor]  # each expanding level's input after upsampling, before any concatenation
    decoder: list[torch.Tensor]  # each expanding level's output; the last one is what the classifier reads


class UNet(nn.Module):
    def __init__(self, in_channels: int = 1, classes: int = 11, widths: tuple[int, ...] = (16, 32, 64, 128),
                 skips: bool = True, upsampling: str = "transposed"):
        super().__init__()
        self.down = nn.ModuleList(double_conv(a, b) for a, b in zip((in_channels, *widths[:-2]), widths[:-1]))
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = double_conv(widths[-2], widths[-1])
        self.up = nn.ModuleList(Up(a, b, skips, upsampling) for a, b in zip(widths[:0:-1], widths[-2::-1]))
        self.head = nn.Conv2d(widths[0], classes, 1)  # a score map per class

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.paths(x).decoder[-1])  # (B, classes, H, W): a score map per class

    def paths(self, x: torch.Tensor) -> Paths:
        """The pass, keeping every level's maps (references to tensors the pass makes anyway)."""
        encoder, upsampled, decoder = [], [], []
        for level in self.down:
            x = level(x)
            encoder.append(x)  # (B, width, H / 2^level, W / 2^level)
            x = self.pool(x)
        bottleneck = x = self.bottleneck(x)
        for level, skip in zip(self.up, reversed(encoder)):
            up, x = level(x, skip)
            upsampled.append(up)
            decoder.append(x)
        return Paths(encoder, bottleneck, upsampled, decoder)
