"""Structural re-parameterisation against independent oracles: the training-time blocks' own
forward passes, timm's own `reparameterize()`, and BN folded by hand; wrong fusions must miss.

Tolerance: every output is a float32 sum of at most 9·8 (RepVGG here) or 31² (RepLKNet) products
per branch, added in a different order by the two forms. Rounding then moves an output by about
√n·2⁻²⁴·|output| (measured: under 1e-6·|output|); atol = rtol = 1e-5, with outputs of order 1 to 10,
leaves room for that and none for a real mistake, which moves outputs by tenths (see the negative checks)."""

import base64
import copy
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from timm.models.byobnet import RepVggBlock
from torch import nn

from app.atlas import reparam
from app.figures.colormaps import apply_colormap

TOLERANCE = dict(atol=1e-5, rtol=1e-5)
MISTAKE = 1e-2  # a wrong fusion must miss by this much at least: 1000× the tolerance

# (in, out, stride, group size): with the identity branch, without it (stride 2 and a channel
# change), and grouped, where the identity's 1 is at channel c % (channels per group).
BLOCKS = {"identity": (8, 8, 1, None), "stride 2": (8, 16, 2, None), "grouped": (8, 8, 1, 4)}


def settled_block(in_chs, out_chs, stride, group_size):
    torch.manual_seed(0)
    block = RepVggBlock(in_chs, out_chs, stride=stride, group_size=group_size)
    return reparam.settled_batch_norm(block, torch.Generator().manual_seed(1)).eval().requires_grad_(False)


def before_activation(block, x):
    """The training-time block's own forward pass, with its ReLU taken out."""
    plain = copy.deepcopy(block)
    plain.act = nn.Identity()
    return plain(x)


@pytest.fixture
def x():
    return torch.randn(2, 8, 12, 12, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("shape", BLOCKS.values(), ids=BLOCKS.keys())
def test_the_fused_conv_gives_the_block_s_output(shape, x):
    block = settled_block(*shape)
    assert (block.identity is not None) == (shape[0] == shape[1] and shape[2] == 1)
    assert reparam.build_fused_conv(reparam.fuse_repvgg(block)).groups == block.groups
    torch.testing.assert_close(reparam.build_fused_conv(reparam.fuse_repvgg(block))(x), before_activation(block, x),
                               **TOLERANCE)
    torch.testing.assert_close(reparam.inference_form(block)(x), block(x), **TOLERANCE)


@pytest.mark.parametrize("shape", BLOCKS.values(), ids=BLOCKS.keys())
def test_the_fused_kernel_and_bias_are_timm_s_own(shape):
    block = settled_block(*shape)
    oracle = copy.deepcopy(block)
    oracle.reparameterize()
    fusion = reparam.fuse_repvgg(block)
    torch.testing.assert_close(fusion.kernel, oracle.reparam_conv.weight, **TOLERANCE)
    torch.testing.assert_close(fusion.bias, oracle.reparam_conv.bias, **TOLERANCE)
    assert len(fusion.branches) == (3 if block.identity is not None else 2)
    assert all(k.shape == fusion.kernel.shape for k, _ in fusion.branches.values())


def test_the_identity_kernel_returns_its_input_also_in_groups(x):
    torch.testing.assert_close(F.conv2d(x, reparam.identity_kernel(8, 2, 3), padding=1, groups=2), x, atol=0, rtol=0)


def test_settled_statistics_are_not_a_fresh_bn_s():
    bn = reparam.settled_batch_norm(nn.BatchNorm2d(64), torch.Generator().manual_seed(0))
    for value, fresh in [(bn.running_mean, 0.0), (bn.running_var, 1.0), (bn.weight, 1.0), (bn.bias, 0.0)]:
        assert 0.05 < (value - fresh).abs().mean() < 1  # away from the identity, still plausible
    assert (bn.running_var > 0).all()


def test_repvgg_a2_stem_and_a_stage_block_on_an_image():
    """The real network's stem (3→64, stride 2: no identity) on an image and a block that keeps
    its shape (identity) on what the network feeds it."""
    model = reparam.settled_repvgg()
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    for block, has_identity in [(model.stem, False), (model.stages[0][1], True)]:
        assert (block.identity is not None) == has_identity
        compared = reparam.branch_and_fused_outputs(block, reparam.input_of(model, block, image))
        assert compared.training.shape == compared.fused.shape
        assert compared.max_abs_difference <= 1e-5 * max(1.0, compared.max_abs_output)
        assert compared.max_abs_output > 1


def folded(conv_bn):
    """BN folded into the kernel by hand, for RepLKNet's check: W·γ/√(var+ε), β − μ·γ/√(var+ε)."""
    bn = conv_bn.bn
    std = (bn.running_var + bn.eps).sqrt()
    return conv_bn.conv.weight * (bn.weight / std)[:, None, None, None], bn.bias - bn.running_mean * bn.weight / std


@pytest.fixture
def large_kernel():
    torch.manual_seed(0)
    module = reparam.LargeKernelReparam(4, kernel=31, small=5)
    return reparam.settled_batch_norm(module, torch.Generator().manual_seed(1)).eval().requires_grad_(False)


def test_the_merged_large_kernel_gives_both_branches_output(large_kernel):
    image = torch.randn(1, 4, 40, 40, generator=torch.Generator().manual_seed(2))
    merged = reparam.build_fused_conv(reparam.merge_large_kernel(large_kernel))
    assert merged.kernel_size == (31, 31) and merged.groups == 4
    torch.testing.assert_close(merged(image), large_kernel(image), **TOLERANCE)


def test_the_merged_kernel_is_the_large_one_with_the_small_one_added_at_its_centre(large_kernel):
    merge = reparam.merge_large_kernel(large_kernel)
    (large, large_bias), (small, small_bias) = folded(large_kernel.large), folded(large_kernel.small)
    centre = (..., slice(13, 18), slice(13, 18))
    torch.testing.assert_close(merge.kernel[centre], large[centre] + small, **TOLERANCE)
    border = torch.ones(31, 31, dtype=torch.bool)
    border[13:18, 13:18] = False
    torch.testing.assert_close(merge.kernel[..., border], large[..., border], **TOLERANCE)
    torch.testing.assert_close(merge.bias, large_bias + small_bias, **TOLERANCE)


def test_wrong_fusions_miss_by_far_more_than_the_tolerance(x, large_kernel):
    """The checks above can fail: forgetting the identity branch, or putting the 1×1 (or the 5×5)
    in a corner instead of the centre, moves outputs by far more than the tolerance."""
    block = settled_block(*BLOCKS["identity"])
    expected = before_activation(block, x)
    fusion = reparam.fuse_repvgg(block)
    k3, b3 = fusion.branches["3×3 conv + BN"]
    k1, b1 = reparam.fuse_conv_bn(block.conv_1x1.conv.weight, block.conv_1x1.bn)
    kid, bid = fusion.branches["identity BN"]
    without_identity = F.conv2d(x, fusion.kernel - kid, fusion.bias - bid, padding=1)
    cornered = F.conv2d(x, k3 + F.pad(k1, (0, 2, 0, 2)) + kid, b3 + b1 + bid, padding=1)
    for wrong in (without_identity, cornered):
        assert (wrong - expected).abs().max() > MISTAKE

    image = torch.randn(1, 4, 40, 40, generator=torch.Generator().manual_seed(2))
    (large, large_bias), (small, small_bias) = folded(large_kernel.large), folded(large_kernel.small)
    cornered = F.conv2d(image, large + F.pad(small, (0, 26, 0, 26)), large_bias + small_bias, padding=15, groups=4)
    assert (cornered - large_kernel(image)).abs().max() > MISTAKE


def test_both_forms_are_timed_on_this_device(x):
    block = settled_block(*BLOCKS["identity"])
    times = reparam.time_forms(block, reparam.inference_form(block), x, torch.device("cpu"), repeats=3)
    assert times.branches_s > 0 and times.fused_s > 0 and times.device == "cpu"


def pixels(trace):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(trace.source.split(",", 1)[1]))).convert("RGB"))


def cell_colour(picture, row, col, cell):
    """The colour at the middle of kernel cell (row, col), after checking the cell is one colour."""
    inside = picture[row * cell + 2:(row + 1) * cell - 1, col * cell + 2:(col + 1) * cell - 1].reshape(-1, 3)
    assert (inside == inside[0]).all()
    return inside[0]


def test_the_kernels_figure_shows_every_kernel_on_one_symmetric_scale():
    """Branch a's −2 and b's +2 cancel in the fused kernel, whose largest |value| is 1: on the
    shared scale −2..2 its 1 is three quarters of the way up, not at the top."""
    a, b = np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32)
    a[0, 0], b[0, 0], b[1, 1] = -2, 2, 1
    figure = reparam.kernels_figure({"a": a, "b": b}, a + b, title="a + b")
    kernels = {trace.name: pixels(trace) for trace in figure.data if trace.name != "colour scale"}
    assert list(kernels) == ["a", "b", "fused"]
    cell = reparam.TILE_PX // 3
    assert all(p.shape[:2] == (3 * cell + 1, 3 * cell + 1) for p in kernels.values())  # square, 3 × 50 px cells
    blue, white, three_quarters, red = apply_colormap(np.array([0.0, 0.5, 0.75, 1.0]), "RdBu_r")
    assert (cell_colour(kernels["a"], 0, 0, cell) == blue).all()
    assert (cell_colour(kernels["b"], 0, 0, cell) == red).all()
    assert (cell_colour(kernels["fused"], 0, 0, cell) == white).all()
    assert (cell_colour(kernels["fused"], 1, 1, cell) == three_quarters).all()
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert texts.count("+") == 1 and texts.count("=") == 1 and {"−2", "0", "+2"} <= set(texts)
    assert min(annotation.font.size for annotation in figure.layout.annotations) >= 14
    assert figure.layout.height <= 400  # fits a 1280 × 720 projector with the page around it


def test_a_31_by_31_kernel_keeps_every_cell_visible(large_kernel):
    figure = reparam.kernels_figure(*reparam.kernel_views(reparam.merge_large_kernel(large_kernel), 0))
    assert [trace.name for trace in figure.data] == ["31×31 depthwise + BN", "5×5 depthwise + BN", "fused",
                                                     "colour scale"]
    assert pixels(figure.data[0]).shape[:2] == (31 * 4 + 1, 31 * 4 + 1)  # 4 px a cell
