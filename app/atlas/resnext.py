"""ResNeXt's block against ResNet's bottleneck, counted from real modules (Xie et al. 2016,
Figure 1 and Table 2): C parallel paths of width d cost about what one bottleneck of width 64
costs, and the grouped convolution computes exactly the same thing as the paths."""

from __future__ import annotations

import torch
from torch import nn

BLOCK_CHANNELS = 256  # the block's input and output channels in the course's figure


def bottleneck(channels: int = BLOCK_CHANNELS, width: int = 64) -> nn.Sequential:
    """ResNet's bottleneck without its normalisation: 1×1 down to `width`, 3×3, 1×1 back up."""
    return nn.Sequential(nn.Conv2d(channels, width, 1, bias=False), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU(),
                         nn.Conv2d(width, channels, 1, bias=False))


class Paths(nn.Module):
    """ResNeXt's block as drawn: `cardinality` small bottlenecks of width `width`, summed."""

    def __init__(self, channels: int = BLOCK_CHANNELS, cardinality: int = 32, width: int = 4):
        super().__init__()
        self.paths = nn.ModuleList(bottleneck(channels, width) for _ in range(cardinality))

    def forward(self, x):
        return sum(path(x) for path in self.paths)


def grouped(channels: int = BLOCK_CHANNELS, cardinality: int = 32, width: int = 4) -> nn.Sequential:
    """The same block as implemented: the paths' convolutions side by side, the 3×3 one grouped."""
    inner = cardinality * width
    return nn.Sequential(nn.Conv2d(channels, inner, 1, bias=False), nn.ReLU(),
                         nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality, bias=False), nn.ReLU(),
                         nn.Conv2d(inner, channels, 1, bias=False))


def grouped_from_paths(paths: Paths) -> nn.Sequential:
    """A grouped block holding the paths' very weights (path i in group i)."""
    first = paths.paths[0]
    cardinality, width, channels = len(paths.paths), first[0].out_channels, first[0].in_channels
    with torch.device("meta"):  # every weight is copied in below
        block = grouped(channels, cardinality, width)
    block = block.to_empty(device=first[0].weight.device)
    for index in (0, 2):
        block[index].weight.data.copy_(torch.cat([p[index].weight.data for p in paths.paths], dim=0))
    block[4].weight.data.copy_(torch.cat([p[4].weight.data for p in paths.paths], dim=1))
    return block


def weights(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def paths_formula(channels: int, cardinality: int, width: int) -> str:
    """The count with the numbers substituted, as the course writes it."""
    return (f"C·(c·d + 3·3·d·d + d·c) = {cardinality}·({channels}·{width} + 9·{width}·{width} + "
            f"{width}·{channels}) = {cardinality * (2 * channels * width + 9 * width * width):,}")


def bottleneck_formula(channels: int, width: int) -> str:
    return (f"c·w + 3·3·w·w + w·c = {channels}·{width} + 9·{width}·{width} + {width}·{channels} = "
            f"{2 * channels * width + 9 * width * width:,}")


def matching_width(cardinality: int, budget: int, channels: int = BLOCK_CHANNELS) -> int:
    """The path width d whose block costs closest to `budget` weights (Table 2's pairs)."""
    return min(range(1, 4 * channels), key=lambda d: abs(cardinality * (2 * channels * d + 9 * d * d) - budget))


def grouped_equals_paths(channels: int, cardinality: int, width: int, seed: int = 0) -> float:
    """The largest difference between the paths and the grouped block holding their weights,
    on a random input (float rounding: they compute the same function)."""
    generator = torch.Generator().manual_seed(seed)
    # Built shapeless, then filled from our own generator: torch's global one is every run's.
    with torch.device("meta"):
        paths = Paths(channels, cardinality, width)
    paths = paths.to_empty(device="cpu")
    with torch.no_grad():
        for weight in paths.parameters():
            weight.copy_(torch.randn(weight.shape, generator=generator) / weight[0].numel() ** 0.5)
    block = grouped_from_paths(paths)
    image = torch.randn(1, channels, 14, 14, generator=generator)
    with torch.no_grad():
        return float((paths(image) - block(image)).abs().max())
