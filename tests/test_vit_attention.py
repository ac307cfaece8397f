"""ViT attention capture, rollout, masks and distances against plain references."""

import threading

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F

from app.attribution.methods import token_grad_cam
from app.figures.colormaps import fading_colorscale, lookup_table
from app.figures.overlays import map_overlay_figure
from app.vit.capture import attention_memory_bytes, capture_attention
from app.vit.figures import head_maps_mosaic, patch_grid_picture
from app.vit.maps import attention_rollout, mass_threshold_mask, mean_attention_distance

TINY = dict(img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3, num_classes=7, qkv_bias=True)


def tiny_vit(seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, **(TINY | overrides))
    return model.eval().requires_grad_(False)


def reference_attention(model, x) -> tuple[list[torch.Tensor], torch.Tensor]:
    """softmax(q·kᵀ·scale) from each block's own qkv weights, on the block's real
    input as timm's own (fused) forward computes it."""
    inputs = []
    handles = [block.register_forward_pre_hook(lambda module, args: inputs.append(args[0])) for block in model.blocks]
    try:
        with torch.inference_mode():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    expected = []
    for block, block_input in zip(model.blocks, inputs):
        attn = block.attn
        h = block.norm1(block_input)
        qkv = F.linear(h, attn.qkv.weight, attn.qkv.bias)
        batch, tokens, _ = h.shape
        q, k, _ = qkv.reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
        expected.append(torch.softmax(q @ k.transpose(-2, -1) * attn.head_dim ** -0.5, dim=-1)[0])
    return expected, logits[0]


@pytest.mark.parametrize("variant", [{}, {"reg_tokens": 4}, {"class_token": False, "global_pool": "avg"}],
                         ids=["cls", "registers", "no-cls"])
def test_capture_equals_softmax_of_each_blocks_own_qkv(variant):
    model = tiny_vit(**variant)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert all(block.attn.fused_attn for block in model.blocks)  # timm's default: no softmax kept
    capture = capture_attention(model, x)
    expected, logits = reference_attention(model, x)
    prefix = 1 * (variant.get("class_token", True)) + variant.get("reg_tokens", 0)
    assert capture.prefix_tokens == prefix and capture.grid == (4, 4)
    assert capture.attentions.shape == (3, 3, 16 + prefix, 16 + prefix)
    for layer, reference in enumerate(expected):
        torch.testing.assert_close(capture.attentions[layer], reference, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(capture.attentions.sum(-1), torch.ones(3, 3, 16 + prefix))
    torch.testing.assert_close(capture.logits, logits, rtol=1e-4, atol=1e-5)
    maps = capture.patch_attention(layer=2)
    assert maps.shape == (3, 4, 4)
    if not capture.has_class_token:  # no CLS: the mean over patch queries
        torch.testing.assert_close(maps, capture.attentions[2, :, prefix:, prefix:].mean(1).reshape(3, 4, 4))


def test_a_larger_input_matches_timms_dynamic_image_size():
    model = tiny_vit()
    dynamic = tiny_vit(dynamic_img_size=True)
    dynamic.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    capture = capture_attention(model, x)
    with torch.inference_mode():
        expected = dynamic(x)[0]
    assert capture.grid == (6, 6)
    torch.testing.assert_close(capture.logits, expected, rtol=1e-4, atol=1e-5)


def test_capture_leaves_the_shared_model_as_it_was():
    model = tiny_vit()
    x = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        before = model(x)
    fused = [block.attn.fused_attn for block in model.blocks]
    capture_attention(model, x)
    assert [block.attn.fused_attn for block in model.blocks] == fused
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    with torch.inference_mode():
        torch.testing.assert_close(model(x), before, rtol=0, atol=0)


def test_eight_concurrent_captures_equal_sequential_ones():
    model = tiny_vit(depth=6)
    images = [torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    sequential = [capture_attention(model, x).attentions for x in images]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        results[i] = capture_attention(model, images[i]).attentions

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, expected in zip(results, sequential):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def reference_rollout(attentions: np.ndarray, fusion: str, discard: float) -> np.ndarray:
    """Abnar & Zuidema written out plainly, layer by layer, with numpy."""
    layers, _, n, _ = attentions.shape
    result = np.eye(n)
    for layer in range(layers):
        a = {"mean": np.mean, "max": np.max, "min": np.min}[fusion](attentions[layer], axis=0).copy()
        if discard:
            flat = a.flatten()
            count = int(flat.size * discard)
            for index in np.argsort(flat, kind="stable")[:count]:
                if index != 0:
                    flat[index] = 0
            a = flat.reshape(n, n)
        a = 0.5 * a + 0.5 * np.eye(n)
        a = a / a.sum(axis=1, keepdims=True)
        result = a @ result
    return result


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("discard", [0.0, 0.3, 0.9])
def test_rollout_equals_the_formula(fusion, discard):
    rng = np.random.default_rng(0)
    raw = rng.random((4, 3, 10, 10)) ** 3
    attentions = raw / raw.sum(-1, keepdims=True)
    got = attention_rollout(torch.tensor(attentions, dtype=torch.float32), fusion, discard)
    np.testing.assert_allclose(got.numpy(), reference_rollout(attentions, fusion, discard), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1).numpy(), 1.0, rtol=1e-5)


def test_mass_mask_keeps_the_fewest_top_patches_holding_the_mass():
    rng = np.random.default_rng(1)
    maps = rng.random((5, 6, 6)) ** 4
    for mass in (0.3, 0.6, 0.9):
        got = mass_threshold_mask(torch.tensor(maps), mass).numpy()
        for head in range(5):
            values = maps[head].ravel()
            order = np.argsort(-values)
            kept, held = set(), 0.0
            for index in order:  # take the largest until the mass is held
                if held >= mass * values.sum():
                    break
                kept.add(index)
                held += values[index]
            assert set(np.flatnonzero(got[head].ravel())) == kept, (mass, head)


def test_attention_distance_of_hand_built_matrices():
    grid, patch, prefix = (4, 4), 16, 1
    tokens = 17
    self_only = torch.eye(tokens)[None, None]  # each token attends only to itself
    assert mean_attention_distance(self_only, grid, patch, prefix).item() == pytest.approx(0.0)
    uniform = torch.full((1, 2, tokens, tokens), 1.0 / tokens)
    centres = [(r * patch, c * patch) for r in range(4) for c in range(4)]
    pairwise = np.mean([np.hypot(a[0] - b[0], a[1] - b[1]) for a in centres for b in centres])
    got = mean_attention_distance(uniform, grid, patch, prefix)
    np.testing.assert_allclose(got.numpy(), pairwise, rtol=1e-5)


def test_token_grad_cam_equals_a_direct_computation():
    model = tiny_vit()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    saved = {}
    handle = model.blocks[-1].norm1.register_forward_hook(lambda m, a, out: saved.setdefault("out", out))
    try:
        with torch.enable_grad():
            inputs = x.clone().requires_grad_(True)
            score = model(inputs)[0, 4]
            (gradient,) = torch.autograd.grad(score, saved["out"])
    finally:
        handle.remove()
    grid_grads = gradient[0, 1:].reshape(4, 4, -1).permute(2, 0, 1)
    grid_acts = saved["out"][0, 1:].detach().reshape(4, 4, -1).permute(2, 0, 1)
    cam = torch.relu((grid_grads.mean(dim=(1, 2), keepdim=True) * grid_acts).sum(0))
    expected = F.interpolate(cam[None, None], size=(32, 32), mode="bilinear")[0, 0].numpy()
    got = token_grad_cam(model, "blocks.2.norm1", x, 4, prefix_tokens=1, grid=(4, 4))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert not any(m._forward_hooks for m in model.modules())


def test_memory_preview_counts_layers_heads_and_tokens():
    model = tiny_vit()
    assert attention_memory_bytes(model, 32) == 3 * 3 * 17 * 17 * 4
    assert attention_memory_bytes(model, 64) == 3 * 3 * 65 * 65 * 4


def test_the_marked_patch_of_a_40_by_40_grid_is_framed_and_pointed_at_beyond_its_own_size():
    view = np.full((224, 224, 3), 128, np.uint8)
    plain = patch_grid_picture(view, (40, 40), None)
    picture = patch_grid_picture(view, (40, 40), (20, 20))
    top, bottom, left, right = (round(i * 448 / 40) for i in (20, 21, 20, 21))  # an 11 px patch
    np.testing.assert_array_equal(picture[top:bottom, left:right], plain[top:bottom, left:right])
    marked = np.all(picture == (255, 225, 0), axis=-1)
    rows, cols = np.nonzero(marked)
    assert rows.max() - rows.min() >= 64 and cols.max() - cols.min() >= 64  # arms: far larger than the patch
    for ring in (marked[top - 2, left:right], marked[bottom + 1, left:right],
                 marked[top:bottom, left - 2], marked[top:bottom, right + 1]):
        assert ring.all()  # a frame of at least 3 px on all four sides
    assert np.all(picture[top - 6: top - 4, left] == 0)  # the frame is edged in black against the photo
    assert patch_grid_picture(view, (40, 40), (0, 39)).shape == (448, 448, 3)  # a corner patch is fine too


def test_head_maps_leave_the_photo_untinted_where_a_head_is_at_its_lowest():
    view = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    maps = torch.zeros(1, 2, 2)
    maps[0, 0, 0] = 1.0
    mosaic = head_maps_mosaic(view, maps, alpha=0.7, max_side=65)  # one 64 px tile
    tile = mosaic.tile_shape[0]
    picture = F.interpolate(torch.from_numpy(view).permute(2, 0, 1)[None].float(), size=(tile, tile),
                            mode="bilinear", antialias=True)[0].permute(1, 2, 0).numpy()
    low = slice(tile // 2, tile)  # a quarter where the map is 0
    np.testing.assert_array_equal(mosaic.rgb[low, low], np.clip(np.rint(picture[low, low]), 0, 255))
    top = mosaic.rgb[: tile // 2, : tile // 2].astype(float)
    expected = 0.3 * picture[: tile // 2, : tile // 2] + 0.7 * lookup_table("Inferno")[255]
    np.testing.assert_allclose(top, np.clip(np.rint(expected), 0, 255), atol=1)


@pytest.mark.parametrize("signed", [False, True])
def test_a_fading_colorscale_is_transparent_at_zero_and_reaches_the_opacity_at_the_ends(signed):
    scale = fading_colorscale("RdBu_r" if signed else "Inferno", 0.6, signed)
    alphas = {round(p, 3): float(colour.rsplit(",", 1)[1].rstrip(")")) for p, colour in scale}
    assert alphas[0.5 if signed else 0.0] == 0.0
    assert alphas[1.0] == pytest.approx(0.6) and alphas[0.0] == pytest.approx(0.6 if signed else 0.0)
    figure = map_overlay_figure(np.zeros((8, 8, 3), np.uint8), np.ones((2, 2)) * 6.15e-4, 0.6, "Inferno",
                                (0.0, 1e-3), fade=True)
    heatmap = figure.data[1]
    assert heatmap.opacity == 1.0 and heatmap.colorscale[0][1].endswith(",0.000)")
    assert heatmap.colorbar.exponentformat == "none"  # plain 0.0006, never "615µ"
