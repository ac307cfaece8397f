"""Depthwise separable convolutions (Howard et al. 2017, MobileNets): the cost of a standard
convolution, D_K²·M·N·D_F² multiply-adds, against a depthwise one followed by a pointwise one,
D_K²·M·D_F² + M·N·D_F²; MobileNet v1's layer table read from the built network; and what the
two kinds of layer really take on this machine (fewer multiply-adds are not proportionally
less time)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.atlas.latency import median_seconds


def standard_macs(kernel: int, m: int, n: int, size: int) -> int:
    return kernel * kernel * m * n * size * size


def separable_macs(kernel: int, m: int, n: int, size: int) -> int:
    return kernel * kernel * m * size * size + m * n * size * size


@dataclass(frozen=True)
class LayerRow:
    """One row of MobileNet v1's Table 1, read from a built network."""
    name: str
    kind: str  # "Conv", "Conv dw" or "FC", with its stride
    filter_shape: str  # as the paper writes it: 3 × 3 × 3 × 32, 3 × 3 × 32 dw, 1024 × 1000
    input_shape: str  # H × W × C
    macs: int
    parameters: int


def layer_table(model: nn.Module, input_size: int) -> list[LayerRow]:
    """Every convolution and fully connected layer in forward order, with the size it is fed,
    from one pass on the meta device (hooks see shapes; nothing is computed)."""
    rows: list[LayerRow] = []

    def record(name):
        def hook(module, inputs, output):
            shape = inputs[0].shape
            if isinstance(module, nn.Conv2d):
                k, s = module.kernel_size[0], module.stride[0]
                depthwise = module.groups == module.in_channels == module.out_channels and module.groups > 1
                kind = f"Conv dw / s{s}" if depthwise else f"Conv / s{s}"
                filters = (f"{k} × {k} × {module.in_channels} dw" if depthwise
                           else f"{k} × {k} × {module.in_channels // module.groups} × {module.out_channels}")
                macs = k * k * (module.in_channels // module.groups) * module.out_channels * output.shape[-2] * \
                    output.shape[-1]
                rows.append(LayerRow(name, kind, filters, f"{shape[-2]} × {shape[-1]} × {shape[1]}", macs,
                                     sum(p.numel() for p in module.parameters())))
            else:
                rows.append(LayerRow(name, "FC / s1", f"{module.in_features} × {module.out_features}",
                                     f"1 × 1 × {module.in_features}", module.in_features * module.out_features,
                                     sum(p.numel() for p in module.parameters())))
        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in model.named_modules()
               if isinstance(module, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, input_size, input_size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return rows


def mobilenet_v1(width: float = 1.0) -> nn.Module:
    """timm's MobileNet v1 with the width multiplier α, untrained. timm registers α = 1 only
    (`mobilenetv1_100`); its generator takes any α (its `channel_multiplier`)."""
    from timm.models.efficientnet import _gen_mobilenet_v1

    return _gen_mobilenet_v1("mobilenetv1_100", width)


@dataclass(frozen=True)
class LayerTiming:
    standard_s: float
    separable_s: float  # depthwise then pointwise
    depthwise_s: float  # the depthwise part alone
    standard_macs: int
    separable_macs: int
    depthwise_macs: int


def time_layers(m: int, n: int, size: int, device: torch.device, repeats: int = 7, kernel: int = 3) -> LayerTiming:
    """A standard k×k convolution M→N against depthwise k×k then pointwise 1×1, on one
    D_F×D_F input: the median of `repeats` passes of each after a warm-up."""
    standard = nn.Conv2d(m, n, kernel, padding=kernel // 2, bias=False)
    separable = nn.Sequential(nn.Conv2d(m, m, kernel, padding=kernel // 2, groups=m, bias=False),
                              nn.Conv2d(m, n, 1, bias=False))
    image = torch.randn(1, m, size, size, device=device)
    standard, separable = standard.to(device).eval(), separable.to(device).eval()
    return LayerTiming(median_seconds(lambda: standard(image), device, repeats),
                       median_seconds(lambda: separable(image), device, repeats),
                       median_seconds(lambda: separable[0](image), device, repeats),
                       standard_macs(kernel, m, n, size), separable_macs(kernel, m, n, size), kernel * kernel * m * size * size)
