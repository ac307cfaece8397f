"""Squeeze-and-excitation (Hu et al. 2018) as MobileNet v3 uses it: each block averages its
feature maps to one number per channel, passes them through two small layers and a (hard)
sigmoid, and multiplies every channel by the resulting gate in [0, 1]. Read here on an image:
the gates of every block, and a channel's map before and after its gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from torchvision.ops.misc import SqueezeExcitation

from app.figures.colormaps import apply_colormap, normalise
from app.figures.mosaic import Mosaic, tiled
from app.serving.model_lock import exclusive_use


@dataclass(frozen=True, eq=False)
class GatedBlock:
    name: str  # the SE module's name in the network
    before: torch.Tensor  # (C, H, W): the maps the block gates
    gates: torch.Tensor  # (C,): each channel's gate, in [0, 1]

    @property
    def after(self) -> torch.Tensor:
        return self.before * self.gates[:, None, None]


def se_blocks(model: torch.nn.Module) -> list[tuple[str, SqueezeExcitation]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, SqueezeExcitation)]


def gated_blocks(model: torch.nn.Module, batch: torch.Tensor) -> list[GatedBlock]:
    """Every SE block's input and gates for the first image of `batch`, from one forward pass
    (hooks on the shared model: taken alone, app.serving.model_lock)."""
    found: dict[str, dict[str, torch.Tensor]] = {}
    handles = []
    for name, block in se_blocks(model):
        seen = found.setdefault(name, {})
        handles.append(block.register_forward_hook(
            lambda m, inputs, output, seen=seen: seen.__setitem__("before", inputs[0][0].detach().cpu())))
        handles.append(block.scale_activation.register_forward_hook(
            lambda m, inputs, output, seen=seen: seen.__setitem__("gates", output[0, :, 0, 0].detach().cpu())))
    try:
        with exclusive_use(model), torch.inference_mode():
            model(batch.to(next(model.parameters()).device))
    finally:
        for handle in handles:
            handle.remove()
    return [GatedBlock(name, seen["before"].float(), seen["gates"].float()) for name, seen in found.items()]


def gates_figure(blocks: list[GatedBlock], height: int = 420) -> go.Figure:
    """One row per SE block, its channels' gates in their order (blank past a block's channels)."""
    width = max(len(b.gates) for b in blocks)
    grid = np.full((len(blocks), width), np.nan, dtype=np.float32)
    for row, block in enumerate(blocks):
        grid[row, :len(block.gates)] = block.gates.numpy()
    names = [f"{b.name} ({len(b.gates)})" for b in blocks]
    figure = go.Figure(go.Heatmap(z=grid, y=names, zmin=0, zmax=1, colorscale="RdBu", reversescale=False,
                                  colorbar=dict(title="gate", thickness=14),
                                  hovertemplate="%{y}<br>channel %{x}: gate %{z:.3f}<extra></extra>"))
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=40),
                         xaxis=dict(title="channel"), yaxis=dict(autorange="reversed"))
    return figure


def before_after_mosaic(block: GatedBlock, channels: list[int], colormap: str = "Viridis") -> Mosaic:
    """The chosen channels' maps before (top row) and after (bottom row) the gate, all on one
    scale: a channel the gate suppresses darkens."""
    before = block.before[channels].numpy()
    after = block.after[channels].numpy()
    both = np.concatenate([before, after])
    unit = normalise(both, float(both.min()), float(both.max()))
    return tiled(apply_colormap(unit, colormap), [*channels, *channels], cols=len(channels))


def extreme_channels(block: GatedBlock, count: int) -> tuple[list[int], list[int]]:
    """(the `count` channels the gate keeps most, the `count` it suppresses most)."""
    order = torch.argsort(block.gates, descending=True).tolist()
    return order[:count], order[::-1][:count]
