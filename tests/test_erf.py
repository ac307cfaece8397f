"""Effective receptive fields against brute force: finite differences for the gradient, a loop
for RepLKNet's area measure; the large-kernel stacks' shapes."""

import numpy as np
import pytest
import torch
from torch import nn

from app.atlas.erf import contribution_area, effective_receptive_field, layer_output
from app.atlas.large_kernels import LargeKernelStack


def test_the_erf_of_a_tiny_network_is_its_finite_differences():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 4, 3, padding=1)).double()
    images = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    erf = effective_receptive_field(net, images)

    def centre(x):
        return net(x)[:, :, 4, 4].sum(dim=1)  # per image

    step, expected = 1e-6, np.zeros((2, 2, 9, 9))
    with torch.no_grad():
        for c in range(2):
            for i in range(9):
                for j in range(9):
                    moved = images.clone()
                    moved[:, c, i, j] += step
                    expected[:, c, i, j] = ((centre(moved) - centre(images)) / step).numpy()
    brute = np.abs(expected).sum(axis=1).mean(axis=0)
    assert np.allclose(erf, brute, atol=1e-6)
    assert (erf[np.abs(np.arange(9) - 4)[:, None].repeat(9, 1) > 2] == 0).all()  # two 3×3 layers reach ±2


def test_the_forward_stops_at_the_layer():
    torch.manual_seed(0)
    after = nn.Conv2d(3, 3, 3)
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), after)
    calls = []
    after.register_forward_pre_hook(lambda m, i: calls.append(1))
    output = layer_output(net, net[0])(torch.randn(1, 3, 8, 8))
    assert output.shape == (1, 3, 8, 8) and calls == []  # the layer after it never ran


@pytest.mark.parametrize("share", [0.2, 0.5, 0.9, 1.0])
def test_the_area_measure_is_the_smallest_share_of_pixels_holding_the_contribution(share):
    erf = np.random.default_rng(0).random((12, 12)) ** 3
    values, total = erf.ravel(), erf.sum()
    smallest = next(k for k in range(1, values.size + 1)
                    if np.sort(values)[::-1][:k].sum() >= share * total - 1e-12)
    assert contribution_area(erf, share) == pytest.approx(smallest / values.size)


@pytest.mark.parametrize("decomposed, kernel", [(False, 31), (True, 51)])
def test_the_large_kernel_stacks_reach_their_theoretical_field(decomposed, kernel):
    torch.manual_seed(0)
    stack = LargeKernelStack(kernel, depth=1, channels=8, decomposed=decomposed).eval()
    erf = effective_receptive_field(stack, torch.randn(2, 3, 256, 256))
    rows = np.nonzero(erf.sum(axis=1))[0]
    assert stack.theoretical_receptive_field == 4 + (kernel - 1) * 4
    assert rows.max() - rows.min() + 1 == min(stack.theoretical_receptive_field, 256)
