"""Structural re-parameterisation: a block trained with several parallel branches becomes one
convolution for inference, because convolution and eval-mode batch norm are both linear in the
input. RepVGG (Ding et al. 2021) fuses a 3×3 conv + BN, a 1×1 conv + BN and an identity BN
into one 3×3 convolution; RepLKNet (Ding et al. 2022) merges a small 5×5 depthwise branch into
its 31×31 depthwise kernel. Here the fusion is written out, checked on a real input, timed, and
drawn as kernels: branch + branch + branch = fused."""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from app.atlas.latency import median_seconds
from app.figures.colormaps import apply_colormap, normalise
from app.figures.plot_images import image_trace, picture_layout


@dataclass(frozen=True)
class Reparameterised:
    """A multi-branch block as one convolution. `branches` maps a branch's name to its
    (kernel, bias), BN folded in and already padded to the fused kernel's size, so that
    kernel = Σ branch kernels and bias = Σ branch biases."""
    branches: dict[str, tuple[torch.Tensor, torch.Tensor]]  # name -> ((out, in/groups, k, k), (out,))
    kernel: torch.Tensor  # (out, in/groups, k, k)
    bias: torch.Tensor  # (out,)
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int


def fuse_conv_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode BN after a bias-free convolution, folded into it (Ding et al. 2021, Sec. 3.3):
    W' = W·γ/√(var+ε) per output channel, b' = β − μ·γ/√(var+ε)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (out,)
    return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


def centred(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """A k×k kernel zero-padded to size×size with its taps at the centre: with padding size // 2
    the centre tap of the big kernel sits where the small kernel's centre did, so the output is
    unchanged (a 1×1 in a 3×3, a 5×5 in a 31×31)."""
    pad = (size - kernel.shape[-1]) // 2
    return F.pad(kernel, (pad, pad, pad, pad))


def identity_kernel(channels: int, groups: int, size: int) -> torch.Tensor:
    """The size×size kernel whose convolution returns its input: output channel c takes 1 × the
    centre of input channel c, which is channel c % (channels / groups) within c's group."""
    per_group = channels // groups
    kernel = torch.zeros(channels, per_group, size, size)  # (C, C/groups, size, size)
    kernel[torch.arange(channels), torch.arange(channels) % per_group, size // 2, size // 2] = 1
    return kernel


@torch.no_grad()
def fuse_repvgg(block: nn.Module) -> Reparameterised:
    """One 3×3 convolution from a timm `RepVggBlock` in its training-time form (Ding et al.
    2021, Sec. 3.3): its 3×3 and 1×1 conv + BN branches and, where the block keeps its shape,
    the identity BN; the block's running statistics are used, i.e. its eval-mode output."""
    conv = block.conv_kxk.conv
    size = conv.kernel_size[0]
    branches = {
        f"{size}×{size} conv + BN": fuse_conv_bn(conv.weight, block.conv_kxk.bn),
        "1×1 conv + BN": _padded(fuse_conv_bn(block.conv_1x1.conv.weight, block.conv_1x1.bn), size),
    }
    if block.identity is not None:
        identity = identity_kernel(conv.out_channels, conv.groups, size).to(conv.weight)
        branches["identity BN"] = fuse_conv_bn(identity, block.identity)
    return _summed(branches, conv)


def _padded(kernel_bias: tuple[torch.Tensor, torch.Tensor], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return centred(kernel_bias[0], size), kernel_bias[1]


def _summed(branches: dict[str, tuple[torch.Tensor, torch.Tensor]], conv: nn.Conv2d) -> Reparameterised:
    """The branches and their sum, which convolves with the stride, padding, dilation and groups
    of `conv`, the branch with the largest kernel."""
    return Reparameterised(branches, sum(k for k, _ in branches.values()), sum(b for _, b in branches.values()),
                           conv.stride, conv.padding, conv.dilation, conv.groups)


def build_fused_conv(fusion: Reparameterised) -> nn.Conv2d:
    """The fused kernel and bias as an nn.Conv2d, in eval mode and without gradients."""
    out_channels, per_group, height, width = fusion.kernel.shape
    conv = nn.Conv2d(per_group * fusion.groups, out_channels, (height, width), stride=fusion.stride,
                     padding=fusion.padding, dilation=fusion.dilation, groups=fusion.groups, bias=True)
    with torch.no_grad():
        conv.weight.copy_(fusion.kernel)
        conv.bias.copy_(fusion.bias)
    return conv.to(fusion.kernel.device).eval().requires_grad_(False)


def _conv_bn(channels: int, size: int) -> nn.Sequential:
    """A depthwise size×size convolution, padded to keep the map's size, then BN."""
    conv = nn.Conv2d(channels, channels, size, padding=size // 2, groups=channels, bias=False)
    return nn.Sequential(OrderedDict(conv=conv, bn=nn.BatchNorm2d(channels)))


class LargeKernelReparam(nn.Module):
    """RepLKNet's large depthwise kernel in its training-time form (Ding et al. 2022, Guideline 3:
    a small kernel beside the large one eases optimisation): kernel×kernel conv + BN plus small×small
    conv + BN, 31×31 and 5×5 in the paper; both padded to keep the map's size, so they can be summed."""

    def __init__(self, channels: int, kernel: int = 31, small: int = 5):
        super().__init__()
        self.large = _conv_bn(channels, kernel)
        self.small = _conv_bn(channels, small)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.large(x) + self.small(x)


@torch.no_grad()
def merge_large_kernel(module: LargeKernelReparam) -> Reparameterised:
    """One large depthwise convolution: the small branch, BN folded, added to the centre of the
    large one (Ding et al. 2022, Guideline 3)."""
    large, small = module.large, module.small
    size, little = large.conv.kernel_size[0], small.conv.kernel_size[0]
    branches = {
        f"{size}×{size} depthwise + BN": fuse_conv_bn(large.conv.weight, large.bn),
        f"{little}×{little} depthwise + BN": _padded(fuse_conv_bn(small.conv.weight, small.bn), size),
    }
    return _summed(branches, large.conv)


@torch.no_grad()
def settled_batch_norm(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Gives every BN in `module` statistics and affine values of the kind training leaves
    (running mean and β near 0, running variance and γ near 1, each spread by tens of percent),
    drawn from `generator`. A fresh BN is the identity (mean 0, var 1, γ 1, β 0), which would make
    the folding look like it does nothing; these are made up, not any trained network's."""
    for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
        shape = bn.running_mean.shape
        bn.running_mean.copy_(0.3 * torch.randn(shape, generator=generator))
        bn.running_var.copy_(torch.exp(0.5 * torch.randn(shape, generator=generator)))
        bn.weight.copy_(1 + 0.3 * torch.randn(shape, generator=generator))
        bn.bias.copy_(0.2 * torch.randn(shape, generator=generator))
    return module


def settled_repvgg(name: str = "repvgg_a2", seed: int = 0) -> nn.Module:
    """timm's untrained RepVGG (training-time blocks) with settled BN, in eval mode."""
    import timm

    model = timm.create_model(name, pretrained=False)
    return settled_batch_norm(model, torch.Generator().manual_seed(seed)).eval().requires_grad_(False)


@torch.no_grad()
def input_of(model: nn.Module, block: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """What `block`, somewhere inside `model`, is fed when the model sees `image`."""
    seen = []
    handle = block.register_forward_pre_hook(lambda _module, inputs: seen.append(inputs[0].clone()))
    try:
        model(image)
    finally:
        handle.remove()
    return seen[0]


def inference_form(block: nn.Module) -> nn.Module:
    """What replaces `block` at inference: its fused convolution, followed by the block's own
    activation where it has one (a RepVGG block's ReLU)."""
    if isinstance(block, LargeKernelReparam):
        return build_fused_conv(merge_large_kernel(block))
    return nn.Sequential(build_fused_conv(fuse_repvgg(block)), copy.deepcopy(block.act)).eval()


@dataclass(frozen=True)
class FormsCompared:
    training: torch.Tensor  # the branches' sum, before any activation
    fused: torch.Tensor  # the fused convolution's output, same shape
    max_abs_difference: float
    max_abs_output: float  # the scale the difference is measured against


@torch.no_grad()
def branch_and_fused_outputs(block: nn.Module, image_tensor: torch.Tensor) -> FormsCompared:
    """The training-time form and the fused form on one input, compared before the activation
    (a ReLU would hide differences on negative outputs). For a RepVGG block the training-time
    output is read at its activation's input during the block's own forward pass. The block is
    put in eval mode: the fusion uses BN's running statistics."""
    block = block.eval()
    if isinstance(block, LargeKernelReparam):
        training, fused = block(image_tensor), build_fused_conv(merge_large_kernel(block))(image_tensor)
    else:
        training = input_of(block, block.act, image_tensor)
        fused = build_fused_conv(fuse_repvgg(block))(image_tensor)
    return FormsCompared(training, fused, (training - fused).abs().max().item(), training.abs().max().item())


@dataclass(frozen=True)
class FormTimes:
    branches_s: float  # median seconds of the training-time (multi-branch) form
    fused_s: float  # median seconds of the single convolution
    device: str

    @property
    def speedup(self) -> float:
        return self.branches_s / self.fused_s


def time_forms(block: nn.Module, fused_conv: nn.Module, x: torch.Tensor, device: torch.device,
               repeats: int = 20) -> FormTimes:
    """Both forms on `x` on `device` (copies are moved there, the caller's modules stay put);
    `fused_conv` is best `inference_form(block)`, so both sides run the same activation. RepVGG's
    point (Ding et al. 2021, Sec. 3.1): one dense 3×3 conv runs faster than three branches whose
    outputs must be kept and added, even though it does more multiply-adds than the 1×1 and
    identity branches together."""
    branches, fused = (copy.deepcopy(m).eval().to(device) for m in (block, fused_conv))
    x = x.to(device)
    return FormTimes(median_seconds(lambda: branches(x), device, repeats),
                     median_seconds(lambda: fused(x), device, repeats), str(device))


def kernel_views(fusion: Reparameterised, out_channel: int, in_channel: int | None = None
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One (output channel, input channel) slice of every branch kernel and of the fused one,
    as the kernels figure takes them. By default the input channel the identity reads, so its
    1 (times its BN's scale) is in view; a depthwise kernel has only input channel 0."""
    if in_channel is None:
        in_channel = out_channel % fusion.kernel.shape[1]
    branches = {name: kernel[out_channel, in_channel].cpu().numpy() for name, (kernel, _) in fusion.branches.items()}
    return branches, fusion.kernel[out_channel, in_channel].cpu().numpy()


TILE_PX = 150  # a kernel's side on screen, whatever its size (a 3×3 at 50 px a cell)
MIN_CELL_PX = 4
GRID_MIN_CELL_PX = 12  # lines between cells from this size up; below it they would hide the cells
GAP_PX = 56  # between kernels, where the "+" and "=" go
EDGE_PX = 8  # blank canvas around everything, so no frame line falls on the plot's edge
LABEL_FONT_PX = 16
SIGN_FONT_PX = 32
TICK_FONT_PX = 14
CHAR_PX = 9  # wider than an average character at LABEL_FONT_PX
BAR_PX = (16, 240)  # the colour bar's height and width
GRID_GREY = (150, 150, 150)
COLORMAP = "RdBu_r"


def _kernel_picture(kernel: np.ndarray, limit: float, cell: int) -> np.ndarray:
    """(k, k) values → (k·cell + 1, k·cell + 1, 3) uint8: each value a cell-pixel square coloured on
    −limit..limit, in a grey frame, with grey lines between cells when they are big enough."""
    colours = apply_colormap(normalise(kernel, -limit, limit), COLORMAP)  # (k, k, 3)
    side = kernel.shape[0] * cell + 1
    picture = np.empty((side, side, 3), dtype=np.uint8)
    picture[1:, 1:] = colours.repeat(cell, axis=0).repeat(cell, axis=1)
    lines = cell if cell >= GRID_MIN_CELL_PX else side - 1
    picture[::lines, :] = GRID_GREY
    picture[:, ::lines] = GRID_GREY
    return picture


def kernel_limit(branches: dict[str, np.ndarray], fused: np.ndarray) -> float:
    """m of the shared scale −m..m: the largest |value| among every kernel shown (1 if all are 0)."""
    return float(max(np.abs(k).max() for k in [*branches.values(), fused])) or 1.0


def kernels_figure(branches: dict[str, np.ndarray], fused: np.ndarray, title: str | None = None,
                   fused_label: str = "fused") -> go.Figure:
    """Each branch's 2D kernel, "+" between them, "=" and the fused kernel, as pictures on one
    symmetric colour scale (blue −m, white 0, red +m) with a picture colour bar under them. Drawn at
    one canvas pixel per screen pixel (the figure's height is the canvas's), fonts ≥ 14 px."""
    limit = kernel_limit(branches, fused)
    kernels = [*branches.values(), fused]
    labels = [*branches, fused_label]
    cell = max(MIN_CELL_PX, TILE_PX // max(k.shape[0] for k in kernels))
    pictures = [_kernel_picture(k, limit, cell) for k in kernels]
    band = max(p.shape[0] for p in pictures)
    pitches = [max(p.shape[1], CHAR_PX * len(label)) for p, label in zip(pictures, labels)]
    width = sum(pitches) + GAP_PX * (len(pitches) - 1) + 2 * EDGE_PX
    figure, annotations, left = go.Figure(), [], EDGE_PX
    for index, (picture, label, pitch) in enumerate(zip(pictures, labels, pitches)):
        x0, y0 = left + (pitch - picture.shape[1]) / 2, EDGE_PX + (band - picture.shape[0]) / 2
        figure.add_trace(image_trace(picture, name=label).update(x0=x0 + 0.5, y0=y0 + 0.5))
        annotations.append(_text(left + pitch / 2, EDGE_PX + band + 6, label, LABEL_FONT_PX, "top"))
        if index:
            sign = "=" if index == len(pictures) - 1 else "+"
            annotations.append(_text(left - GAP_PX / 2, EDGE_PX + band / 2, sign, SIGN_FONT_PX, "middle"))
        left += pitch + GAP_PX
    bar_top = EDGE_PX + band + 6 + LABEL_FONT_PX + 24
    annotations += _colour_bar(figure, width / 2, bar_top, limit)
    height = bar_top + BAR_PX[0] + TICK_FONT_PX + 6 + EDGE_PX
    picture_layout(figure, width, height, title, height + (48 if title else 0))
    figure.update_layout(annotations=annotations, margin=dict(t=48 if title else 0), title_font_size=18)
    return figure


def _colour_bar(figure: go.Figure, centre: float, top: float, limit: float) -> list[dict]:
    """The scale as a picture, −m on the left to +m on the right, with its values under it:
    plotly's own colour bar takes a colorscale, which Streamlit's theme recolours."""
    height, width = BAR_PX
    levels = np.repeat(np.linspace(0, 1, width)[None, :], height, axis=0)  # (height, width)
    left = centre - width / 2
    figure.add_trace(image_trace(apply_colormap(levels, COLORMAP), name="colour scale")
                     .update(x0=left + 0.5, y0=top + 0.5))
    below = top + height + 2
    ticks = [(left, f"−{limit:.3g}"), (centre, "0"), (left + width, f"+{limit:.3g}")]
    return ([_text(x, below, text, TICK_FONT_PX, "top") for x, text in ticks]
            + [_text(left - 8, top + height / 2, "weight:", TICK_FONT_PX, "middle", "right")])


def _text(x: float, y: float, text: str, size: int, yanchor: str, xanchor: str = "center") -> dict:
    return dict(x=x, y=y, text=text, showarrow=False, font=dict(size=size), xanchor=xanchor, yanchor=yanchor)
