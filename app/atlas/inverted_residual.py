"""MobileNet v2's inverted residual block (Sandler et al. 2018) and the paper's claim that it is
"considerably more memory efficient": the tensors one block passes along (its Table 1), what a
forward pass really allocates on this machine, the block computed a slice of its expanded channels
at a time (its Section 5.1), and the count of its Table 3, from the real networks."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torchvision.models import mobilenet_v2
from torchvision.models.mobilenetv2 import InvertedResidual

from app.atlas.separable import mobilenet_v1
from app.figures.palette import BLUE, ORANGE

# Table 3 of the paper, "max number of ... memory (in Kb) that needs to be materialized", 16-bit floats.
PAPER_TABLE3_KB = (("MobileNet v1", 1600), ("MobileNet v2", 400), ("ShuffleNet (2×, g = 3)", 600))


@dataclass(frozen=True)
class BlockTensor:
    """One tensor that flows through an inverted residual, h × w × channels as the paper's Table 1 writes it."""
    height: int
    width: int
    channels: int
    operation: str  # what produced it, in words ("block input" for the first)
    adds_input: bool = False  # the shortcut adds the block's input to this tensor

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels

    @property
    def label(self) -> str:
        return f"{self.height}×{self.width}×{self.channels}"


def _words(unit: nn.Sequential) -> str:
    """A Conv2dNormActivation (convolution, BN, activation) in words."""
    conv, activation = unit[0], type(unit[-1]).__name__
    k, s = conv.kernel_size[0], conv.stride[0]
    if conv.groups > 1:
        return f"{k}×{k} depthwise, stride {s}, BN, {activation}"
    return f"{k}×{k} conv, ×{conv.out_channels // conv.in_channels} channels, BN, {activation}"


def block_tensors(block: InvertedResidual, channels_in: int, size: int) -> list[BlockTensor]:
    """The input, the expanded tensor (absent when t = 1), the depthwise output and the linear bottleneck,
    in order, read by hooks on a copy of the block on the meta device (shapes only, nothing computed)."""
    shadow = copy.deepcopy(block).to("meta")
    units = list(shadow.conv)  # [1×1 expansion,] 3×3 depthwise, 1×1 projection, its BN
    shapes: list[torch.Size] = []
    for unit in (*units[:-2], units[-1]):
        unit.register_forward_hook(lambda module, inputs, output: shapes.append(output.shape))
    with torch.no_grad():
        shadow(torch.empty(1, channels_in, size, size, device="meta"))
    words = ["block input", *(_words(unit) for unit in units[:-2]), "1×1 projection, linear, BN (no ReLU6)"]
    dims = [(size, size, channels_in), *((h, w, c) for _, c, h, w in shapes)]
    last = len(dims) - 1
    return [BlockTensor(h, w, c, text, adds_input=block.use_res_connect and i == last)
            for i, ((h, w, c), text) in enumerate(zip(dims, words))]


SLOT, BOX = 1.0, 0.34  # each tensor's share of the width, and its box's width, in data units
FONT = 16  # the smallest text, readable on a projector


def _box(i: int, tensor: BlockTensor, height: float, inner: bool) -> dict:
    x = (i + 0.5) * SLOT
    colour = ORANGE if inner else BLUE
    return dict(type="rect", name=tensor.label, x0=x - BOX / 2, x1=x + BOX / 2, y0=-height / 2, y1=height / 2,
                fillcolor=colour, opacity=0.75, line=dict(color=colour, width=2))


def _shortcut(tensors: list[BlockTensor], heights: list[float], figure: go.Figure) -> None:
    """The shortcut as a line over the boxes from the input to the output, or why there is none."""
    first, last = tensors[0], tensors[-1]
    x0, x1, top = 0.5 * SLOT, (len(tensors) - 0.5) * SLOT, 0.8
    if last.adds_input:
        figure.add_shape(type="path", path=f"M {x0},{heights[0] / 2} L {x0},{top} L {x1},{top}",
                         line=dict(color="black", width=2))
        figure.add_annotation(x=x1, y=heights[-1] / 2, ax=x1, ay=top, xref="x", yref="y", axref="x", ayref="y",
                              text="", showarrow=True, arrowhead=2, arrowwidth=2)
        figure.add_annotation(x=(x0 + x1) / 2, y=top, yanchor="bottom", showarrow=False, font=dict(size=FONT),
                              text="shortcut: the input is added to the projection's output")
        return
    reason = (f"stride {first.height // last.height}" if last.height != first.height
              else f"{first.channels} → {last.channels} channels")
    figure.add_annotation(x=(x0 + x1) / 2, y=top, yanchor="bottom", showarrow=False, font=dict(size=FONT),
                          text=f"no shortcut ({reason}: the input cannot be added to the output)")


def inverted_residual_figure(tensors: list[BlockTensor], height: int = 420) -> go.Figure:
    """The block as boxes left to right, one per tensor, each as tall as its channels are many; between
    them the operation; inner tensors (those Section 5.1 streams) in orange, the bottlenecks in blue."""
    widest = max(t.channels for t in tensors)
    heights = [t.channels / widest for t in tensors]
    figure = go.Figure()
    for i, tensor in enumerate(tensors):
        x = (i + 0.5) * SLOT
        figure.add_shape(**_box(i, tensor, heights[i], inner=0 < i < len(tensors) - 1))
        figure.add_annotation(x=x, y=-0.56, yanchor="top", showarrow=False, text=tensor.label,
                              font=dict(size=FONT + 2))
        if i:  # the operation that made this tensor, in the gap before its box
            figure.add_annotation(x=x - BOX / 2 - 0.03, y=0, ax=x - SLOT + BOX / 2 + 0.03, ay=0, xref="x",
                                  yref="y", axref="x", ayref="y", text="", showarrow=True, arrowhead=2,
                                  arrowwidth=2)
            figure.add_annotation(x=x - SLOT / 2, y=0.06, yanchor="bottom", showarrow=False,
                                  text=tensor.operation.replace(", ", "<br>"), font=dict(size=FONT))
    _shortcut(tensors, heights, figure)
    figure.add_annotation(x=len(tensors) * SLOT / 2, y=-0.8, yanchor="top", showarrow=False,
                          font=dict(size=FONT), text="height ∝ channels · orange: exists only inside the block, "
                                                     "computable a slice of channels at a time")
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                         paper_bgcolor="white", plot_bgcolor="white", font=dict(size=FONT),
                         xaxis=dict(visible=False, range=[0, len(tensors) * SLOT], fixedrange=True),
                         yaxis=dict(visible=False, range=[-1.0, 1.05], fixedrange=True))
    return figure


_PROFILING = threading.Lock()  # one profiler at a time in this process


def peak_activation_bytes(forward: Callable[[torch.Tensor], object], x: torch.Tensor) -> int:
    """The peak memory of an inference pass `forward(x)` on the CPU, in bytes: x itself (held throughout)
    plus the most that PyTorch's allocator held beyond what was allocated when the pass began (weights and
    anything else already alive are not counted; the output and every temporary, an operator's own included,
    are)."""
    # Why the profiler: CPU tensors have no allocator statistics (torch.cuda.max_memory_allocated has no CPU
    # twin), and a dispatch mode sees only the tensors operators return, not the copies oneDNN's kernels make
    # of their input and weights. The profiler records every allocation and free of the CPU allocator,
    # requested bytes exactly, in order; the raw events (kineto_results) are read because the parsed ones
    # charge each allocation to an operator, net of frees, which hides the peak inside it. Only this thread's
    # allocations are recorded, so other work in the process does not count.
    with _PROFILING, torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        forward(x)  # the output is dropped at once: its bytes count while it is made, as the pass's last step
    events = sorted((e for e in prof.profiler.kineto_results.events()
                     if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU),
                    key=lambda e: e.start_ns())
    if not events:
        raise RuntimeError("the profiler recorded no allocation: it cannot measure this pass")
    held = peak = 0
    for event in events:  # nbytes: positive an allocation, negative a free
        held += event.nbytes()
        peak = max(peak, held)
    return x.nbytes + peak


def _slice_unit(unit: nn.Sequential, x: torch.Tensor, part: slice) -> torch.Tensor:
    """Channels `part` of a Conv2dNormActivation's output, from their own filters: a 1×1 expansion reads every
    input channel, a depthwise convolution only its own (x holds just `part` then). BN in eval mode is a
    per-channel affine map and the activation acts per element, so both slice with the channels. (torchvision's
    convolutions here have no bias: BN follows each.)"""
    conv, bn, activation = unit
    depthwise = conv.groups > 1
    y = F.conv2d(x, conv.weight[part], None, conv.stride, conv.padding, conv.dilation,
                 part.stop - part.start if depthwise else 1)
    y = F.batch_norm(y, bn.running_mean[part], bn.running_var[part], bn.weight[part], bn.bias[part], False, 0.0,
                     bn.eps)
    return activation(y)


def streamed_forward(block: InvertedResidual, x: torch.Tensor, slices: int) -> torch.Tensor:
    """block(x), in eval mode, computed `slices` groups of the expanded channels at a time (Sandler et al.,
    Section 5.1): the output is the sum over groups of project(depthwise(expand(x))) restricted to the group,
    then the projection's BN once, then the shortcut, so no more than one group of the expanded tensor exists
    at any moment."""
    units = list(block.conv)  # [1×1 expansion,] 3×3 depthwise, 1×1 projection, its BN
    project, bn = units[-2], units[-1]
    hidden = project.in_channels
    if not 1 <= slices <= hidden:
        raise ValueError(f"slices must be between 1 and the {hidden} expanded channels, not {slices}")
    bounds = [hidden * i // slices for i in range(slices + 1)]
    total = None
    for start, stop in zip(bounds, bounds[1:]):
        part = slice(start, stop)
        inner = _slice_unit(units[0], x, part) if len(units) == 4 else x[:, part]  # (n, |part|, h, w)
        inner = _slice_unit(units[-3], inner, part)  # (n, |part|, h/s, w/s)
        contribution = F.conv2d(inner, project.weight[:, part])  # (n, k', h/s, w/s)
        del inner
        total = contribution if total is None else total.add_(contribution)
    out = F.batch_norm(total, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return out + x if block.use_res_connect else out


def expansion(block: InvertedResidual) -> int:
    """The block's expansion factor t: expanded channels over input channels."""
    return block.conv[-2].in_channels // block.conv[0][0].in_channels


def streamed_mobilenet_v2(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's mobilenet_v2 forward with every inverted residual streamed in t slices (one slice as wide
    as the block's input), the rest as torchvision runs it."""
    for module in model.features:
        x = streamed_forward(module, x, expansion(module)) if isinstance(module, InvertedResidual) else module(x)
    x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)  # (n, 1280)
    return model.classifier(x)


@dataclass(frozen=True)
class Materialised:
    """The tensors that pass between a network's operations when each operation is computed whole and
    everything inside it is streamed (Sandler et al., Section 5.1 and Table 3). Elements, not bytes."""
    largest: str  # the largest such tensor, h×w×c
    largest_elements: int
    largest_pair_elements: int  # the most one operation's input and output take together
    by_resolution: tuple[tuple[int, int], ...]  # (side, most channels at it), widest first: Table 3's rows

    @property
    def table3_kb(self) -> float:
        """The largest tensor in kB (1000 bytes) of 16-bit floats, as Table 3 counts."""
        return self.largest_elements * 2 / 1000


def _hwc(shape: torch.Size) -> tuple[int, int, int]:
    return (shape[2], shape[3], shape[1]) if len(shape) == 4 else (1, 1, shape[1])


def materialised(model: nn.Module, operations: Callable[[nn.Module], list[tuple[nn.Module, nn.Module]]],
                 size: int) -> Materialised:
    """Table 3's count for `model` at size², from one pass of a meta-device copy (nothing computed).
    `operations(copy)` lists each operation as (its first module, its last): what enters the first and what
    leaves the last are materialised, nothing in between."""
    shadow = copy.deepcopy(model).to("meta").eval()
    pairs: list[list[tuple[int, int, int]]] = []
    for first, last in operations(shadow):
        pair: list[tuple[int, int, int]] = []
        pairs.append(pair)
        first.register_forward_pre_hook(lambda m, inputs, pair=pair: pair.insert(0, _hwc(inputs[0].shape)))
        last.register_forward_hook(lambda m, inputs, output, pair=pair: pair.append(_hwc(output.shape)))
    with torch.no_grad():
        shadow(torch.empty(1, 3, size, size, device="meta"))
    tensors = [t for pair in pairs for t in pair]
    largest = max(tensors, key=lambda t: t[0] * t[1] * t[2])
    sides = sorted({h for h, _, _ in tensors}, reverse=True)
    return Materialised(f"{largest[0]}×{largest[1]}×{largest[2]}", largest[0] * largest[1] * largest[2],
                        max(sum(h * w * c for h, w, c in pair) for pair in pairs),
                        tuple((side, max(c for h, _, c in tensors if h == side)) for side in sides))


def v1_operations(net: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """MobileNet v1: every convolution (with its BN and ReLU) and the classifier is an operation."""
    return [(m, m) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def v2_operations(net: nn.Module, first_into_block: bool = True) -> list[tuple[nn.Module, nn.Module]]:
    """MobileNet v2: each inverted residual, each other layer of `features`, and the classifier. With
    `first_into_block`, the first convolution joins the first block, as Table 3's caption allows: its
    32 output channels are independent of one another, so it streams like an expansion."""
    layers = list(net.features)
    head = [(layers[0], layers[1])] if first_into_block else [(layers[0], layers[0]), (layers[1], layers[1])]
    return [*head, *((m, m) for m in layers[2:]), (net.classifier, net.classifier)]


@dataclass(frozen=True)
class MemoryComparison:
    """Peak activation memory measured on this machine (peak_activation_bytes: bytes, float32, batch 1,
    inference, input included), and Table 3's count from the same networks. Table 3's maxima are reproduced:
    v1's 112×112×64 is 1,605,632 bytes in 16-bit floats (1600K), v2's 112×112×16 401,408 (400K) once the first
    convolution streams into the first block, as its caption allows (800K otherwise). Its v2 rows at 56, 28 and
    14 list 32, 64 and 160 channels where the network materialises 24, 32 and 96; only the maximum agrees."""
    block_side: int
    v2_block: int  # torchvision mobilenet_v2 features[3]: 24 → 144 → 24 with its shortcut, computed whole
    v2_block_streamed: int  # the same block in t = 6 slices of 24 expanded channels
    v1_block: int  # timm MobileNet v1 blocks[1][1]: 3×3 depthwise 128, then 1×1 pointwise 128 → 128
    v2_expanded_bytes: int  # the v2 block's 144-channel expanded tensor alone, which its naive pass must hold
    image_side: int
    v1_network: int
    v2_network: int
    v2_network_streamed: int  # every inverted residual streamed in t slices
    v1_materialised: Materialised
    v2_materialised: Materialised  # the first convolution streamed into the first block (Table 3's caption)
    v2_materialised_unmerged: Materialised  # without that: the first convolution's 112×112×32 is materialised
    paper_table3_kb: tuple[tuple[str, int], ...] = PAPER_TABLE3_KB


def compare_memory(block_side: int = 56, image_side: int = 224) -> MemoryComparison:
    """Everything MemoryComparison holds, on untrained networks and zero inputs (memory depends on neither the
    weights nor the values)."""
    v1, v2 = mobilenet_v1().eval(), mobilenet_v2(weights=None).eval()
    v2_block, v1_block = v2.features[3], v1.blocks[1][1]  # the blocks that run at 56×56 for a 224² image
    x2 = torch.zeros(1, v2_block.conv[0][0].in_channels, block_side, block_side)
    x1 = torch.zeros(1, v1_block.conv_dw.in_channels, block_side, block_side)
    image = torch.zeros(1, 3, image_side, image_side)
    expanded = block_tensors(v2_block, x2.shape[1], block_side)[1]
    return MemoryComparison(
        block_side=block_side,
        v2_block=peak_activation_bytes(v2_block, x2),
        v2_block_streamed=peak_activation_bytes(lambda x: streamed_forward(v2_block, x, expansion(v2_block)), x2),
        v1_block=peak_activation_bytes(v1_block, x1),
        v2_expanded_bytes=expanded.elements * x2.element_size(),
        image_side=image_side,
        v1_network=peak_activation_bytes(v1, image),
        v2_network=peak_activation_bytes(v2, image),
        v2_network_streamed=peak_activation_bytes(lambda x: streamed_mobilenet_v2(v2, x), image),
        v1_materialised=materialised(v1, v1_operations, image_side),
        v2_materialised=materialised(v2, v2_operations, image_side),
        v2_materialised_unmerged=materialised(v2, lambda net: v2_operations(net, first_into_block=False),
                                              image_side))


def block_inputs(model: nn.Module, size: int) -> dict[int, tuple[int, int]]:
    """{index in `features`: (channels, side) it is fed} for each inverted residual of a torchvision
    MobileNet v2 at size², from a pass of a meta-device copy."""
    shadow = copy.deepcopy(model).to("meta").eval()
    fed: dict[int, tuple[int, int]] = {}
    for index, layer in enumerate(shadow.features):
        if isinstance(layer, InvertedResidual):
            layer.register_forward_pre_hook(lambda m, inputs, index=index: fed.__setitem__(
                index, (inputs[0].shape[1], inputs[0].shape[-1])))
    with torch.no_grad():
        shadow(torch.empty(1, 3, size, size, device="meta"))
    return fed


MEASURING_THREADS = 1  # the allocator's copies depend on the thread count: one, for the same figures anywhere


def compared_in_child() -> MemoryComparison:
    """compare_memory in a fresh interpreter (app.atlas.fresh_interpreter) with one thread: the
    profiler it reads is the process's, and a server's other sessions allocate meanwhile."""
    from app.atlas.fresh_interpreter import json_lines

    [fields] = list(json_lines("app.atlas.inverted_residual"))
    counts = {key: Materialised(**{**value, "by_resolution": tuple(map(tuple, value["by_resolution"]))})
              for key, value in fields.items() if isinstance(value, dict)}
    return MemoryComparison(**{**fields, **counts,
                               "paper_table3_kb": tuple(map(tuple, fields["paper_table3_kb"]))})


if __name__ == "__main__":
    import dataclasses
    import json

    torch.set_num_threads(MEASURING_THREADS)
    print(json.dumps(dataclasses.asdict(compare_memory())), flush=True)
