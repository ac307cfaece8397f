"""MobileNet v3's squeeze-and-excitation gates read on an image, against each SE module's own
computation (its `_scale` and its output), on an untrained copy."""

import pytest
import torch
import torchvision

from app.atlas.se import before_after_mosaic, extreme_channels, gated_blocks, gates_figure, se_blocks


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v3_large(weights=None).eval()


@pytest.fixture(scope="module")
def blocks(model):
    return gated_blocks(model, torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1)))


def test_every_se_block_is_read(model, blocks):
    assert [b.name for b in blocks] == [name for name, _ in se_blocks(model)]
    assert len(blocks) == 8  # MobileNet v3 large puts SE in 8 of its 15 bottlenecks
    assert [len(b.gates) for b in blocks] == [72, 120, 120, 480, 672, 672, 960, 960]


def test_the_gates_are_the_modules_own_and_gate_its_output(model, blocks):
    modules = dict(se_blocks(model))
    with torch.no_grad():
        for block in blocks:
            se = modules[block.name]
            assert torch.allclose(block.gates, se._scale(block.before[None])[0, :, 0, 0], atol=1e-6)
            assert torch.allclose(block.after, se(block.before[None])[0], atol=1e-6)
            assert block.gates.min() >= 0 and block.gates.max() <= 1


def test_the_kept_and_suppressed_channels_are_the_extreme_gates(blocks):
    block = blocks[3]
    kept, suppressed = extreme_channels(block, 4)
    ranked = sorted(range(len(block.gates)), key=lambda c: float(block.gates[c]))
    assert set(suppressed) == set(ranked[:4]) and set(kept) == set(ranked[-4:])
    mosaic = before_after_mosaic(block, suppressed)
    assert mosaic.channels.shape == (2, 4) and list(mosaic.channels[1]) == suppressed


def test_the_heatmap_has_a_row_per_block_and_blanks_past_its_channels(blocks):
    z = gates_figure(blocks).data[0].z
    assert len(z) == 8 and len(z[0]) == 960
    assert all(v != v for v in z[0][72:])  # NaN past the first block's 72 channels
