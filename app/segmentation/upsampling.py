"""What one output pixel of an upsampling layer reads: a 2×2 transposed convolution with stride 2
places one input pixel, times its kernel, on every 2×2 block of the output; bilinear
interpolation blends the four nearest input pixels. Measured by autograd on the layer itself."""

from __future__ import annotations

import torch


def inputs_read(upsample: torch.nn.Module, x: torch.Tensor) -> int:
    """How many input positions the output pixel nearest the centre depends on, for `x` (1, C, h, w)."""
    with torch.enable_grad():
        # A tensor made in inference mode (a cached pass) cannot join autograd; its clone can.
        x = x.detach().clone().requires_grad_(True)
        out = upsample(x)
        gradient, = torch.autograd.grad(out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum(), x)
    return int((gradient[0].abs().sum(dim=0) > 0).sum())
