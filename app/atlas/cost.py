"""What an architecture costs, counted without running it: the network is built on the meta
device (shapes, no numbers) and torch's FlopCounterMode counts the multiply-adds of one forward
pass of one image at the architecture's input size. The biggest (VGG-19, 20 GFLOPs) count in
a fraction of a second, and nothing is allocated."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from app.atlas.catalog import Architecture


@dataclass(frozen=True)
class Cost:
    parameters: int
    macs: int  # multiply-adds of one forward pass, batch 1 (a FLOP counter's count / 2)
    weight_layers: int  # convolutions and fully connected layers in the module, shortcuts included


def count_cost(arch: Architecture) -> Cost:
    with torch.device("meta"):
        model = arch.build().eval()
        image = torch.empty(1, arch.channels, arch.input_size, arch.input_size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(image)
    layers = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in model.modules())
    return Cost(sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, layers)
