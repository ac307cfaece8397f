"""Swin geometry and window attention against timm's own buffers, functions and softmax."""

import numpy as np
import pytest
import timm
import torch
from timm.models import swin_transformer as timm_swin

from app.swin.capture import capture_swin, swin_layout
from app.swin.windows import (
    cyclic_shift,
    reverse_shift,
    shifted_window_mask,
    swin_reach,
    swin_stages,
    window_partition,
    window_reverse,
)

CONFIGS = {  # (input size, window): Swin-T's own, the 256² with window 8, and one that pads
    "224-w7": (224, 7),
    "256-w8": (256, 8),
    "224-w8": (224, 8),
}


def untrained_swin_t(size: int, window: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, img_size=size,
                             window_size=window).eval().requires_grad_(False)


@pytest.fixture(scope="module", params=list(CONFIGS), ids=list(CONFIGS))
def swin(request):
    size, window = CONFIGS[request.param]
    return size, window, untrained_swin_t(size, window)


def test_the_project_mask_equals_every_blocks_own_attn_mask(swin):
    size, window, model = swin
    stages = swin_stages(size, 4, window, 96)
    for geometry, stage in zip(stages, model.layers):
        for index, block in enumerate(stage.blocks):
            assert (block.window_size[0], tuple(block.input_resolution)) == (geometry.window, geometry.grid)
            expected_shift = geometry.shift if index % 2 else 0
            assert block.shift_size[0] == expected_shift
            ours = shifted_window_mask(geometry) if expected_shift else None
            if block.attn_mask is None:
                assert ours is None
            else:
                torch.testing.assert_close(ours, block.attn_mask, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["swin_t", "tiny_swin_fmnist"])
def test_the_layout_read_off_a_model_is_its_registry_recipe(name):
    import pretrained

    spec = pretrained.get_spec(name)
    layout = swin_layout(pretrained.build_model(spec))
    recipe = {"patch_size": 4, "window_size": 7, "depths": (2, 2, 6, 2), "embed_dim": 96} | spec.build_kwargs
    assert (layout.patch_size, layout.window, layout.depths, layout.embed_dim) == (
        recipe["patch_size"], recipe["window_size"], tuple(recipe["depths"]), recipe["embed_dim"])


def test_swin_t_windows_per_stage_and_the_unshifted_last_stage():
    stages = swin_stages(224, 4, 7, 96)
    assert [g.window_count for g in stages] == [64, 16, 4, 1]
    assert [g.shift for g in stages] == [3, 3, 3, 0]
    assert [g.forced_zero_shift for g in stages] == [False, False, False, True]
    assert [g.grid[0] for g in stages] == [56, 28, 14, 7] and [g.channels for g in stages] == [96, 192, 384, 768]
    padded = swin_stages(224, 4, 8, 96)
    assert [g.padded[0] for g in padded] == [56, 32, 16, 7] and padded[3].forced_zero_shift


def test_partition_reverse_and_roll_round_trips():
    x = torch.randn(2, 14, 21, 5)
    windows = window_partition(x, 7)
    torch.testing.assert_close(windows, timm_swin.window_partition(x, (7, 7)), rtol=0, atol=0)
    torch.testing.assert_close(window_reverse(windows, 7, 14, 21), x, rtol=0, atol=0)
    torch.testing.assert_close(reverse_shift(cyclic_shift(x, 3), 3), x, rtol=0, atol=0)
    torch.testing.assert_close(cyclic_shift(x, 3), torch.roll(x, (-3, -3), (1, 2)), rtol=0, atol=0)


def test_captured_window_attention_equals_the_models_own_softmax():
    model = untrained_swin_t(224, 7)
    hooked = []
    handles = [block.attn.softmax.register_forward_hook(lambda m, a, out: hooked.append(out.clone()))
               for stage in model.layers for block in stage.blocks]
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    try:
        assert not any(block.attn.fused_attn for stage in model.layers for block in stage.blocks)
        with torch.inference_mode():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    capture = capture_swin(model, x)
    assert len(capture.blocks) == len(hooked) == 12
    for block, expected in zip(capture.blocks, hooked):
        torch.testing.assert_close(block.attention, expected, rtol=1e-4, atol=1e-6)
        if block.mask is not None:  # masked pairs get (almost) nothing
            assert block.attention.permute(1, 0, 2, 3)[:, block.mask < 0].max() < 1e-30
    torch.testing.assert_close(capture.logits, logits[0], rtol=1e-4, atol=1e-5)
    assert [tuple(f.shape) for f in capture.stage_features] == [(96, 56, 56), (192, 28, 28), (384, 14, 14),
                                                                (768, 7, 7)]
    assert not any(m._forward_hooks for m in model.modules())


def test_a_tokens_window_attention_lands_on_the_right_map_positions():
    model = untrained_swin_t(224, 7)
    capture = capture_swin(model, torch.randn(1, 3, 224, 224))
    shifted = capture.block(0, 1)
    maps, hidden, to_padding = shifted.token_attention(55, 0)  # bottom-left corner: a wrapped window
    inside = ~np.isnan(maps[0])
    assert inside.sum() == 49 and to_padding == 0.0
    # The window holds the token's own 4×4 corner plus the wrapped rows and columns.
    assert inside[55, 0] and inside[0, 0] and inside[55, 55] and inside[0, 55]
    np.testing.assert_allclose(np.nansum(maps, axis=(1, 2)), 1.0, rtol=1e-5)
    assert hidden.any() and (maps[:, hidden] < 1e-30).all()
    assert not hidden[55, 0]
    regular = capture.block(0, 0).token_attention(55, 0)[0]
    assert (~np.isnan(regular[0])).sum() == 49 and not np.isnan(regular[0, 49:56, 0:7]).any()


def test_reach_equals_what_a_perturbed_token_changes_through_real_blocks():
    """Perturb one input token and see which outputs move, through two Swin-T
    blocks (regular, then shifted) and the first block after patch merging."""
    torch.manual_seed(0)
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval().double()
    token = (5, 40)
    x = torch.randn(1, 56, 56, 96, dtype=torch.float64)
    nudged = x.clone()
    # A random direction: a constant one would vanish in LayerNorm's mean subtraction.
    nudged[0, token[0], token[1]] += torch.randn(96, dtype=torch.float64)

    def outputs(inputs):
        with torch.inference_mode():
            first = model.layers[0].blocks[0](inputs)
            second = model.layers[0].blocks[1](first)
            third = model.layers[1].blocks[0](model.layers[1].downsample(second))
        return [first, second, third]

    expected = swin_reach(swin_stages(224, 4, 7, 96), (2, 2, 6, 2), token)
    for index, (before, after) in enumerate(zip(outputs(x), outputs(nudged))):
        # Real changes are ~1e-3; rounding noise ~1e-16; what exp(−100) lets through ~1e-44.
        moved = ((after - before).abs().amax(dim=-1) > 1e-12)[0].numpy()
        scale = 2 if index == 2 else 1
        np.testing.assert_array_equal(moved, expected[index][::scale, ::scale], err_msg=f"block {index + 1}")
    assert expected[0].sum() == 49 and expected[-1].all()


@pytest.mark.parametrize("input_size, window, token", [(224, 7, (0, 0)), (224, 7, (54, 1)), (224, 7, (20, 13)), (256, 8, (31, 63))])
def test_the_clicked_token_is_ringed_around_its_own_cell(input_size, window, token):
    from app.swin.figures import _cell_size, mark_token

    geometry = swin_stages(input_size, 4, window, 96)[0]
    cell = _cell_size(geometry, 448)
    picture = np.full((geometry.padded[0] * cell, geometry.padded[1] * cell, 3), 90, np.uint8)
    marked = mark_token(picture, geometry, token)
    changed = (marked != picture).any(axis=-1)
    red = (marked == (230, 20, 20)).all(axis=-1)
    # Brute force over the pixels: the red ring is a square of 18 px (the cell when larger) centred on
    # the token's cell, clipped at the picture's edges, inside a 3 px white ring; nothing else changes.
    side = max(cell, 18)
    centre = ((token[0] + 0.5) * cell, (token[1] + 0.5) * cell)
    rows, cols = np.nonzero(red)
    for found, middle, limit in ((rows, centre[0], picture.shape[0]), (cols, centre[1], picture.shape[1])):
        assert found.min() == max(0, round(middle - side / 2))
        assert found.max() == min(limit, round(middle - side / 2) + side) - 1
    interior = all(side / 2 + 3 <= c <= limit - side / 2 - 3 for c, limit in zip(centre, picture.shape))
    if interior:
        assert changed.sum() == (side + 6) ** 2 - (side - 6) ** 2
    r0, c0 = token[0] * cell, token[1] * cell  # the token's own pixels stay visible
    assert not changed[r0 + cell // 2, c0 + cell // 2]
