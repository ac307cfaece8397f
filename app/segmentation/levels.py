"""A U-Net's levels by name, the contracting path downwards and the expanding path upwards:
"encoder 1" is the picture's size, "decoder 1" the expanding level of the same size, which
takes encoder 1's maps through its skip."""

from __future__ import annotations

import torch

from app.segmentation.unet import Paths

BOTTLENECK = "bottleneck"


def level_names(depth: int) -> list[str]:
    """In the order the pass runs them, for `depth` contracting levels."""
    return ([f"encoder {n}" for n in range(1, depth + 1)] + [BOTTLENECK]
            + [f"decoder {n}" for n in range(depth, 0, -1)])


def level_map(paths: Paths, name: str) -> torch.Tensor:
    """The level's output, (B, C, H, W)."""
    if name == BOTTLENECK:
        return paths.bottleneck
    part, number = name.split()
    if part == "encoder":
        return paths.encoder[int(number) - 1]
    return paths.decoder[len(paths.decoder) - int(number)]


def decoder_parts(paths: Paths, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the upsampled maps from below, the skip from the encoder level of the same size) that a
    decoder level concatenates (the skip is handed over whether or not the network uses it)."""
    number = int(name.split()[1])
    return paths.upsampled[len(paths.upsampled) - number], paths.encoder[number - 1]


def upsampling_input(paths: Paths, name: str) -> torch.Tensor:
    """What a decoder level upsamples: the bottleneck, or the decoder level below it."""
    index = len(paths.decoder) - int(name.split()[1])
    return paths.bottleneck if index == 0 else paths.decoder[index - 1]
