"""Receptive fields read off a traced network: how many input pixels one unit can see.

Walks a torch.fx graph in order with the usual arithmetic (Araujo et al., Distill
2019): a layer with kernel k, stride s, dilation d and padding p turns
(size r, jump j, start c) into (r + (k-1)·d·j, j·s, c + ((k-1)·d/2 − p)·j).
Where branches meet (residual add, inception concat) the widest branch counts.
A tensor without spatial extent (after global pooling or flattening into a
linear layer) sees the whole image (size None); a linear layer applied per
position (ConvNeXt's channel MLP) does not widen anything. A branch with no
spatial extent that gates a feature map (squeeze-excitation) does not widen it
either: only spatial paths are followed. A map flattened into a sequence of tokens keeps its
field until a linear layer mixes the tokens (MLP-Mixer's token-mixing MLP): from
there each token sees the whole image. Tensor shapes come from one forward of an
example input through the graph (torch.fx ShapeProp).

Each axis is walked on its own (`axis` 0 is the first after the channels): a
video network's (time, height, width) are three walks of the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp


@dataclass(frozen=True)
class ReceptiveField:
    size: int | None  # pixels on a side; None: the whole image
    jump: int  # input pixels between neighbouring units (the cumulative stride)
    start: float  # input coordinate of the centre of unit (0, 0)

    @property
    def is_global(self) -> bool:
        return self.size is None

    def centre(self, index: int) -> float:
        """Input coordinate of the centre of unit `index` along one axis."""
        return self.start + index * self.jump

    def box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in input pixels that unit (row, col) can see; may pass the border."""
        half = self.size / 2
        x, y = self.centre(col), self.centre(row)
        return x - half, y - half, x + half, y + half


_INPUT = ReceptiveField(size=1, jump=1, start=0.5)
_GLOBAL = ReceptiveField(size=None, jump=1, start=0.0)
_POOL_FUNCTIONS = {F.max_pool2d, F.avg_pool2d, torch.max_pool2d}
_CONV_FUNCTIONS = {F.conv2d, F.conv3d, torch.conv2d, torch.conv3d}


def _along(value, axis: int) -> int:
    return int(value[axis] if isinstance(value, (tuple, list)) else value)


def _through_window(field: ReceptiveField, kernel, stride, dilation=1, padding=None, axis: int = 0) -> ReceptiveField:
    if field.is_global:
        return field
    k, s, d = _along(kernel, axis), _along(stride or kernel, axis), _along(dilation, axis)
    # 'same' padding (and timm's dynamic padding) keeps the window centred.
    p = (k - 1) * d / 2 if padding is None or isinstance(padding, str) else _along(padding, axis)
    return ReceptiveField(
        size=field.size + (k - 1) * d * field.jump,
        jump=field.jump * s,
        start=field.start + ((k - 1) * d / 2 - p) * field.jump,
    )


def _widest(fields: list[ReceptiveField]) -> ReceptiveField:
    spatial = [f for f in fields if not f.is_global]
    if not spatial:
        return _GLOBAL if fields else _INPUT
    return max(spatial, key=lambda f: (f.size, f.jump))


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _has_space(shape: tuple[int, ...] | None) -> bool:
    """False for vectors: (B, C), (B, C, 1, 1), NHWC's (B, 1, 1, C) and (B, C, 1, 1, 1)."""
    if shape is None or len(shape) <= 2:
        return False
    if len(shape) == 5:
        return shape[2] * shape[3] * shape[4] > 1
    return not (len(shape) == 4 and (shape[2] == shape[3] == 1 or shape[1] == shape[2] == 1))


_CONVOLUTIONS = (nn.Conv2d, nn.Conv3d)
_MAX_POOLS = (nn.MaxPool2d, nn.MaxPool3d)
_AVG_POOLS = (nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)


def _through_module(module: nn.Module, field: ReceptiveField, axis: int) -> ReceptiveField:
    if isinstance(module, nn.Sequential):  # leaf blocks such as torchvision's Conv2dNormActivation
        for child in module:
            field = _through_module(child, field, axis)
        return field
    if isinstance(module, _CONVOLUTIONS):
        padding = "same" if getattr(module, "_padding_same", False) else module.padding
        return _through_window(field, module.kernel_size, module.stride, module.dilation, padding, axis)
    if isinstance(module, _MAX_POOLS):
        return _through_window(field, module.kernel_size, module.stride, module.dilation, module.padding, axis)
    if isinstance(module, _AVG_POOLS):
        return _through_window(field, module.kernel_size, module.stride, 1, module.padding, axis)
    return field


def _mixes_tokens(module: nn.Module | None, shape: tuple[int, ...] | None, positions: int | None) -> bool:
    """A linear layer over a (B, A, K) sequence whose last axis holds the map's positions,
    not its channels: the tokens were transposed to the end and are mixed with each other.
    (Were the channels exactly as many as the positions, the two could not be told apart.)"""
    return (isinstance(module, nn.Linear) and positions is not None and shape is not None and len(shape) == 3
            and shape[2] == positions != shape[1])


def _positions(node: fx.Node, known: dict[fx.Node, int]) -> int | None:
    """How many map positions a token sequence holds: set where a (B, C, H, W) map becomes a
    3-D tensor, then carried along; None for anything that is not such a sequence."""
    shape = _shape(node)
    if shape is None or len(shape) != 3:
        return None
    for source in node.all_input_nodes:
        before = _shape(source)
        if before is not None and len(before) == 4:
            return before[2] * before[3]
        if source in known:
            return known[source]
    return None


def _through_node(node: fx.Node, module: nn.Module | None, field: ReceptiveField, axis: int,
                  positions: int | None = None) -> ReceptiveField:
    inputs = [_shape(n) for n in node.all_input_nodes]
    # Whatever turns a map into a vector (global pooling, flattening for a linear
    # layer, a mean over H and W) sees the whole image; so does whatever mixes all tokens.
    if any(_has_space(s) for s in inputs) and not _has_space(_shape(node)):
        return _GLOBAL
    if _mixes_tokens(module, inputs[0] if inputs else None, positions):
        return _GLOBAL
    if isinstance(module, _ADAPTIVE_POOLS):
        size_in, size_out = inputs[0][2 + axis], _shape(node)[2 + axis]
        return _through_window(field, -(-size_in // size_out), size_in // size_out, 1, 0)
    if module is not None:
        return _through_module(module, field, axis)
    if node.target in _CONV_FUNCTIONS:  # a subclass of nn.Conv3d traced into (torchvision's Conv3DSimple)
        given = dict(zip(("stride", "padding", "dilation"), node.args[3:6])) | node.kwargs
        kernel = _shape(node.args[1])[2:]
        return _through_window(field, kernel, given.get("stride", 1), given.get("dilation", 1),
                               given.get("padding", 0), axis)
    if node.target in _POOL_FUNCTIONS:
        args = list(node.args[1:]) + [None] * 3
        kernel = node.kwargs.get("kernel_size", args[0])
        stride = node.kwargs.get("stride", args[1])
        padding = node.kwargs.get("padding", args[2] if args[2] is not None else 0)
        return _through_window(field, kernel, stride, 1, padding, axis)
    return field


def receptive_fields(graph_module: fx.GraphModule, example: torch.Tensor, axis: int = 0) -> dict[str, ReceptiveField]:
    """The receptive field along `axis` of every node of a traced network, by node name;
    `example` is an input batch of the size the network will see."""
    _propagate(graph_module, example)
    return {node.name: field for node, field in _walk(graph_module, axis).items()}


def output_receptive_fields(graph_module: fx.GraphModule, example: torch.Tensor,
                            axes: tuple[int, ...] = (0,)) -> list[dict[str, ReceptiveField]]:
    """Receptive fields of a feature extractor's named outputs (its return dict keys), one dict per
    axis in `axes`; the shapes are propagated once for all of them."""
    _propagate(graph_module, example)
    output = next(n for n in graph_module.graph.nodes if n.op == "output")
    fields = [_walk(graph_module, axis) for axis in axes]
    return [{name: by_node[node] for name, node in output.args[0].items()} for by_node in fields]


def _propagate(graph_module: fx.GraphModule, example: torch.Tensor) -> None:
    """Records every node's output shape in its meta (what the walk reads)."""
    with torch.inference_mode():
        ShapeProp(graph_module).propagate(example)


def _walk(graph_module: fx.GraphModule, axis: int) -> dict[fx.Node, ReceptiveField]:
    modules = dict(graph_module.named_modules())
    fields: dict[fx.Node, ReceptiveField] = {}
    positions: dict[fx.Node, int] = {}
    for node in graph_module.graph.nodes:
        if node.op == "placeholder":
            fields[node] = _INPUT
            continue
        known = [n for n in node.all_input_nodes if n in fields]
        # A map whose positions already see the whole image (mixed tokens) makes whatever it
        # meets global too; a vector that only gates a map (squeeze-excitation) does not.
        if any(fields[n].is_global and _has_space(_shape(n)) for n in known):
            incoming = _GLOBAL
        else:
            incoming = _widest([fields[n] for n in known])
        module = modules[node.target] if node.op == "call_module" else None
        sequence = next((positions[n] for n in node.all_input_nodes if n in positions), None)
        fields[node] = _through_node(node, module, incoming, axis, sequence)
        if (count := _positions(node, positions)) is not None:
            positions[node] = count
    return fields


def measured_receptive_fields(outputs, example: torch.Tensor, names) -> dict[str, ReceptiveField]:
    """For a network torch.fx cannot trace: the input pixels that the centre unit of each named
    (B, C, H, W) output responds to, read off its gradient (all channels summed) with respect to
    a random input of `example`'s size. A unit whose gradient reaches all four borders (global
    attention, as in CvT's stages) sees the whole image; so does a vector. `outputs` maps an
    input batch to {name: tensor}."""
    image = torch.randn(example.shape, generator=torch.Generator().manual_seed(0)).to(example).requires_grad_(True)
    with torch.enable_grad():
        found = outputs(image)
        fields = {}
        for name in names:
            output = found[name]
            if output.dim() != 4 or output.shape[2] * output.shape[3] == 1:
                fields[name] = _GLOBAL
                continue
            row, col = output.shape[2] // 2, output.shape[3] // 2
            [gradient] = torch.autograd.grad(output[0, :, row, col].sum(), image, retain_graph=True)
            seen = gradient[0].abs().sum(dim=0) > 0
            rows, cols = (torch.nonzero(seen.any(dim=d)).flatten() for d in (1, 0))
            height, width = seen.shape
            if rows[0] == 0 and cols[0] == 0 and rows[-1] == height - 1 and cols[-1] == width - 1:
                fields[name] = _GLOBAL
                continue
            size, jump = int(cols[-1] - cols[0] + 1), width // output.shape[3]
            fields[name] = ReceptiveField(size=size, jump=jump, start=float(cols[0]) + size / 2 - col * jump)
    return fields
