"""MobileNet v2's inverted residual (Sandler et al. 2018) from the real torchvision and timm networks: its
tensors against the paper's Tables 1 and 2, the streamed block against the block, the measured peaks
against sizes known in advance, and Table 3's count against the paper's figures."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import mobilenet_v2

from app.atlas import inverted_residual as ir

# Sandler et al., Table 2: (t, c, n, s) for each sequence of bottlenecks, after a 3×3 conv 3 → 32, stride 2.
TABLE_2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1)]


def table_1_rows(side: int = 224) -> list[tuple[int, int, list[tuple[int, int, int]], bool]]:
    """For each block of Table 2: its input channels, its input side, its tensors by Table 1's formulas
    (h×w×k, h×w×tk, h/s×w/s×tk, h/s×w/s×k'; no expansion when t = 1) and whether it has a shortcut."""
    rows, h, k = [], side // 2, 32
    for t, c, n, s in TABLE_2:
        for stride in [s] + [1] * (n - 1):
            expanded = [(h, h, t * k)] if t > 1 else []
            rows.append((k, h, [(h, h, k), *expanded, (h // stride, h // stride, t * k), (h // stride, h // stride, c)],
                         stride == 1 and k == c))
            h, k = h // stride, c
    return rows


@pytest.fixture(scope="module")
def v2():
    """torchvision's mobilenet_v2 with random BN statistics and affine parameters, so that BN matters."""
    torch.manual_seed(0)
    model = mobilenet_v2(weights=None).eval()
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.normal_(0, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0, 0.5)
    return model


@pytest.fixture(scope="module")
def comparison():
    return ir.compare_memory()


def test_block_tensors_follow_tables_1_and_2(v2):
    rows = table_1_rows()
    blocks = [m for m in v2.features if isinstance(m, ir.InvertedResidual)]
    assert len(blocks) == len(rows) == 17
    for block, (k, side, expected, shortcut) in zip(blocks, rows):
        tensors = ir.block_tensors(block, k, side)
        assert [(t.height, t.width, t.channels) for t in tensors] == expected
        assert [t.elements for t in tensors] == [h * w * c for h, w, c in expected]
        assert [t.adds_input for t in tensors] == [False] * (len(expected) - 1) + [shortcut]


def test_block_tensors_name_their_operations(v2):
    tensors = ir.block_tensors(v2.features[2], 16, 112)
    assert [t.label for t in tensors] == ["112×112×16", "112×112×96", "56×56×96", "56×56×24"]
    assert [t.operation for t in tensors] == ["block input", "1×1 conv, ×6 channels, BN, ReLU6",
                                              "3×3 depthwise, stride 2, BN, ReLU6",
                                              "1×1 projection, linear, BN (no ReLU6)"]


@pytest.mark.parametrize("index, slices", [(1, 1), (1, 4), (2, 6), (3, 6), (3, 5), (3, 144), (7, 6), (14, 6),
                                           (17, 6)],
                         ids=lambda v: str(v))
def test_streamed_forward_is_the_block(v2, index, slices):
    """features[1]: t = 1, 32 → 16; [2], [14]: stride 2; [3], [7]: shortcut; [17]: 160 → 320; 5 slices of
    144 channels are uneven, 144 are one channel each."""
    block = v2.features[index]
    torch.manual_seed(index)
    x = torch.randn(2, block.conv[0][0].in_channels, 14, 14)
    with torch.no_grad():
        torch.testing.assert_close(ir.streamed_forward(block, x, slices), block(x))


def test_streamed_forward_refuses_impossible_slices(v2):
    with pytest.raises(ValueError):
        ir.streamed_forward(v2.features[3], torch.zeros(1, 24, 8, 8), 145)


def expand_stride_project(x: torch.Tensor) -> torch.Tensor:
    """Three steps whose allocations are only their outputs: ×6 channels, stride 2, sum of the six copies."""
    y1 = torch.cat([x] * 6, dim=1)  # (1, 6k, h, w)
    y2 = F.avg_pool2d(y1, 2)  # (1, 6k, h/2, w/2)
    del y1
    return y2.view(1, 6, x.shape[1], *y2.shape[2:]).sum(dim=1)  # (1, k, h/2, w/2)


def test_the_peak_is_the_largest_neighbouring_pair():
    """y1 dies once y2 exists: the peak is x (held by the caller) and the largest of y1, y1 + y2, y2 + y3."""
    x = torch.randn(1, 8, 32, 32)
    y1, y2, y3 = 4 * 48 * 32 * 32, 4 * 48 * 16 * 16, 4 * 8 * 16 * 16
    expected = x.nbytes + max(y1, y1 + y2, y2 + y3)
    assert ir.peak_activation_bytes(expand_stride_project, x) == expected
    assert ir.peak_activation_bytes(expand_stride_project, x) == expected


def test_a_pass_that_keeps_everything_peaks_at_the_sum():
    x = torch.randn(1, 8, 32, 32)

    def hoard(x):
        y1 = torch.cat([x] * 6, dim=1)
        y2 = F.avg_pool2d(y1, 2)
        return y1, y2, y2.view(1, 6, 8, 16, 16).sum(dim=1)

    assert ir.peak_activation_bytes(hoard, x) == x.nbytes + 4 * (48 * 32 * 32 + 48 * 16 * 16 + 8 * 16 * 16)


def test_streaming_the_v2_block_lowers_its_peak(comparison):
    """Computed whole, the block holds its input (for the shortcut) and the 144-channel tensor going into and
    out of the depthwise convolution at once; streamed, less than the input and one 144-channel tensor."""
    channel = 56 * 56 * 4  # bytes of one float32 56×56 channel
    assert comparison.v2_expanded_bytes == 144 * channel
    assert comparison.v2_block >= (24 + 2 * 144) * channel
    assert comparison.v2_block_streamed < 24 * channel + comparison.v2_expanded_bytes
    assert comparison.v2_block_streamed >= 3 * 24 * channel  # input, the running sum, the output


def test_the_v1_block_holds_more_than_the_streamed_v2_block(comparison):
    """MobileNet v1's pair at 56×56 holds its 128-channel input and the depthwise output at once."""
    assert comparison.v1_block >= 2 * 128 * 56 * 56 * 4
    assert comparison.v1_block > comparison.v2_block_streamed


def test_whole_networks(comparison):
    image = 3 * 224 * 224 * 4
    assert comparison.v2_network >= image + (16 + 96) * 112 * 112 * 4  # features[2] expands 16 → 96 at 112²
    assert comparison.v2_network_streamed < comparison.v2_network
    assert comparison.v2_network_streamed < comparison.v1_network


def test_table_3_is_reproduced_from_the_real_networks(comparison):
    """Table 3 (16-bit floats): MobileNet v1 1600K, v2 400K, the largest tensor between operations; v1's
    column resolution by resolution too."""
    v1, v2, unmerged = comparison.v1_materialised, comparison.v2_materialised, comparison.v2_materialised_unmerged
    assert (v1.largest, round(v1.table3_kb, -2)) == ("112×112×64", dict(comparison.paper_table3_kb)["MobileNet v1"])
    assert (v2.largest, round(v2.table3_kb, -2)) == ("112×112×16", dict(comparison.paper_table3_kb)["MobileNet v2"])
    assert v1.by_resolution == ((224, 3), (112, 64), (56, 128), (28, 256), (14, 512), (7, 1024), (1, 1024))
    assert (unmerged.largest, unmerged.largest_elements) == ("112×112×32", 112 * 112 * 32)
    assert v1.largest_pair_elements == 112 * 112 * (32 + 64)  # the first pointwise convolution
    assert v2.largest_pair_elements == 224 * 224 * 3 + 112 * 112 * 16  # the first convolution and block


@pytest.mark.parametrize("index, k, side, shortcut", [(3, 24, 56, True), (2, 16, 112, False), (1, 32, 112, False)])
def test_the_figure_draws_one_labelled_box_per_tensor(v2, index, k, side, shortcut):
    tensors = ir.block_tensors(v2.features[index], k, side)
    figure = ir.inverted_residual_figure(tensors)
    boxes = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [b.name for b in boxes] == [t.label for t in tensors]
    texts = [a.text for a in figure.layout.annotations]
    for box, tensor in zip(boxes, tensors):
        assert any(a.text == tensor.label and a.x == pytest.approx((box.x0 + box.x1) / 2)
                   for a in figure.layout.annotations)
        assert (box.y1 - box.y0) / (boxes[0].y1 - boxes[0].y0) == pytest.approx(tensor.channels / k)
    for tensor in tensors[1:]:
        assert tensor.operation.replace(", ", "<br>") in texts
    assert any(t.startswith("shortcut") for t in texts) == shortcut
    assert any(t.startswith("no shortcut") for t in texts) != shortcut
    assert all(a.font.size >= 14 for a in figure.layout.annotations if a.text)
    assert figure.layout.paper_bgcolor == figure.layout.plot_bgcolor == "white"


def test_the_operations_fit_between_the_boxes_at_1280_px(v2):
    """Each line of an operation is narrower than the gap between two boxes on a 1280 px screen, at a
    generous 0.55 em a character."""
    tensors = ir.block_tensors(v2.features[3], 24, 56)
    figure = ir.inverted_residual_figure(tensors)
    px_per_unit = (1280 - figure.layout.margin.l - figure.layout.margin.r) / figure.layout.xaxis.range[1]
    gap = (ir.SLOT - ir.BOX) * px_per_unit
    for a in figure.layout.annotations:
        if "<br>" in a.text:
            assert max(len(line) for line in a.text.split("<br>")) * 0.55 * a.font.size < gap
