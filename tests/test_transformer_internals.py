"""Inside the Transformer's computations against independent oracles: torch's own
MultiheadAttention, timm's own blocks (fused attention), the attention capture, scikit-learn's
PCA and cosine similarity, and brute-force loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import timm
import torch
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import cosine_similarity
from torch import nn

import pretrained
from app.transformer.attention_steps import self_attention_steps
from app.transformer.image_walkthrough import walk_through
from app.transformer.matched_depth import concentration, layer_at, region_overlap, where
from app.transformer.patch_features import (
    cosine_similarity_to,
    feature_picture,
    foreground_mask,
    principal_components,
)
from app.transformer.registers import OUTLIER_FACTOR, token_norms
from app.transformer.sentence import SENTENCE, sentence_attention, sentence_layers, sinusoidal_positions
from app.vit.capture import capture_attention


def torch_sentence_attention() -> tuple[torch.Tensor, torch.Tensor]:
    """(output (N, D), attention (heads, N, N)) of torch's own MultiheadAttention with the
    sentence example's weights, on its word vectors plus positions."""
    embedding, qkv, proj = sentence_layers(4, 0)
    attention = nn.MultiheadAttention(4, 2, batch_first=True).double()
    with torch.no_grad():
        attention.in_proj_weight.copy_(qkv.weight)
        attention.in_proj_bias.copy_(qkv.bias)
        attention.out_proj.weight.copy_(proj.weight)
        attention.out_proj.bias.copy_(proj.bias)
        z = (embedding.weight.double() + sinusoidal_positions(len(SENTENCE), 4))[None]
        output, weights = attention(z, z, z, average_attn_weights=False)
    return output[0], weights[0]


@pytest.mark.parametrize("head", [0, 1])
def test_the_sentence_s_steps_equal_torch_multihead_attention(head):
    steps = sentence_attention(head=head).steps
    output, weights = torch_sentence_attention()
    torch.testing.assert_close(steps.output, output, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(steps.attention, weights[head], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(steps.all_attention, weights, rtol=1e-10, atol=1e-12)
    # The followed head's columns of U_qkv give its q, k, v; the scores are q·kᵀ/√D_h.
    qkv_rows = steps.z @ steps.u_qkv + steps.b_qkv
    torch.testing.assert_close(qkv_rows, torch.cat([steps.q, steps.k, steps.v], dim=1))
    torch.testing.assert_close(steps.scores, steps.q @ steps.k.t() / math.sqrt(2))
    assert steps.u_qkv.shape == (4, 6) and steps.u_msa.shape == (4, 4) and steps.concatenated.shape == (5, 4)


def test_sinusoidal_positions_by_hand():
    table = sinusoidal_positions(5, 6)
    for pos in range(5):
        for i in range(6):
            angle = pos / 10000 ** ((i - i % 2) / 6)
            assert table[pos, i].item() == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle))


def _vit(**kwargs) -> nn.Module:
    torch.manual_seed(0)
    settings = dict(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=4, num_classes=5) | kwargs
    return timm.create_model("vit_small_patch16_224", pretrained=False, **settings).eval().requires_grad_(False)


def _block_inputs(model: nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
    """What timm's own forward feeds each block (its fused attention, not the walk-through's)."""
    seen = []
    handles = [block.register_forward_pre_hook(lambda module, args: seen.append(args[0][0].clone()))
               for block in model.blocks]
    with torch.no_grad():
        model.forward_features(batch)
    for handle in handles:
        handle.remove()
    return seen


@pytest.mark.parametrize("settings, size", [
    ({}, 32),
    ({"reg_tokens": 4, "no_embed_class": True, "init_values": 0.5}, 32),  # registers, positions on the patches
    # only, and layer scale (DINOv2)
    ({"dynamic_img_size": True}, 48),  # a larger input: the position embedding is resampled
])
def test_every_step_on_an_image_equals_timm_s_own_block(settings, size):
    model = _vit(**settings)
    batch = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    inputs = _block_inputs(model, batch)
    captured = capture_attention(model, batch)
    embedded = model.patch_embed.proj(batch).flatten(2)[0].t()
    for layer in (1, 3):
        for head in (0, 3):
            walk = walk_through(model, batch, layer, head)
            torch.testing.assert_close(walk.block_input, inputs[layer - 1], rtol=1e-5, atol=1e-5)
            block = model.blocks[layer - 1]
            with torch.no_grad():
                expected = block.attn(block.norm1(inputs[layer - 1][None]))[0]  # timm's fused kernel
            torch.testing.assert_close(walk.steps.output.float(), expected, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(walk.library_output, expected)
            torch.testing.assert_close(walk.steps.attention.float(), captured.attentions[layer - 1, head],
                                       rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(walk.patch_embedding, embedded, rtol=1e-5, atol=1e-5)
    grid = (size // 8, size // 8)
    assert walk.grid == grid and walk.patches.shape == (grid[0] * grid[1], 3 * 8 * 8)
    # The flattened vector of patch (1, 0) is that square of pixels, channel by channel.
    torch.testing.assert_close(walk.patches[grid[1]], batch[0, :, 8:16, 0:8].reshape(-1))
    assert len(walk.token_names) == walk.block_input.shape[0] == model.num_prefix_tokens + grid[0] * grid[1]
    assert walk.token_names[walk.token_of_patch(1, 0)] == "patch (1, 0)"


@pytest.mark.parametrize("settings", [{"reg_tokens": 4, "no_embed_class": True, "init_values": 0.5}, {}],
                         ids=["registers", "cls-only"])
def test_token_norms_and_the_cls_token_s_shares_equal_timm_s_own_forward(settings):
    model = _vit(**settings)
    batch = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    batch[..., 8:16, 16:24] *= 50  # patch (1, 2)'s token starts, and stays, far longer than the rest
    final = []  # what timm's own forward hands its final norm
    handle = model.norm.register_forward_pre_hook(lambda module, args: final.append(args[0][0].clone()))
    last_input = _block_inputs(model, batch)[-1]
    handle.remove()
    expected = final[0].double().norm(dim=-1).numpy()
    norms = token_norms(capture_attention(model, batch))
    prefix = model.num_prefix_tokens
    assert [name for name, _ in norms.prefix] == ["CLS", *(f"register {i}" for i in range(1, prefix))]
    np.testing.assert_allclose([value for _, value in norms.prefix], expected[:prefix], rtol=1e-5)
    np.testing.assert_allclose(norms.patches.reshape(-1), expected[prefix:], rtol=1e-5)
    median = float(np.median(expected[prefix:]))
    outliers = [i for i, value in enumerate(expected[prefix:]) if value > OUTLIER_FACTOR * median]
    assert np.flatnonzero(norms.outliers.reshape(-1)).tolist() == outliers and 1 * 4 + 2 in outliers
    assert norms.largest[1] == (1, 2)
    # The CLS row of the last block's softmax, from its own q and k, heads averaged.
    block = model.blocks[-1]
    with torch.no_grad():
        q, k, _ = block.attn.qkv(block.norm1(last_input)).reshape(-1, 3, 4, 8).permute(1, 2, 0, 3)
        row = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-1)[:, 0].mean(dim=0).double().numpy()
    assert norms.cls_to_registers == pytest.approx(row[1:prefix].sum(), abs=1e-6)
    assert norms.cls_to_outliers == pytest.approx(sum(row[prefix + i] for i in outliers), abs=1e-6)
    assert norms.registers == prefix - 1


def test_the_tiny_vit_walks_through_on_its_shipped_weights():
    loaded = pretrained.load_model(pretrained.get_spec("tiny_vit_fmnist"), "cpu")
    batch = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    walk = walk_through(loaded.model, batch, 6, 3)
    assert walk.steps.q.shape == (50, 16) and walk.steps.u_msa.shape == (64, 64)
    torch.testing.assert_close(walk.steps.attention.sum(dim=1), torch.ones(50, dtype=torch.float64))
    with pytest.raises(ValueError):
        walk_through(loaded.model, batch, 7, 0)


def test_a_head_that_does_not_exist_is_refused():
    with pytest.raises(ValueError):
        self_attention_steps(torch.zeros(3, 8), nn.Linear(8, 24), nn.Linear(8, 8), 2, 2)


def _features() -> tuple[np.ndarray, tuple[int, int]]:
    """Patch features with an 'object' in the middle: its patches share a direction."""
    rng = np.random.default_rng(0)
    grid = (8, 10)
    features = rng.normal(size=(80, 16)) * 0.3
    mask = np.zeros(grid, dtype=bool)
    mask[2:6, 3:8] = True
    features[mask.reshape(-1)] += rng.normal(size=16) * 3
    return features, grid


def test_pca_equals_scikit_learn_up_to_sign():
    features, _ = _features()
    ours = principal_components(features, 3)
    reference = PCA(n_components=3, svd_solver="full").fit(features)
    projected = reference.transform(features)
    for component in range(3):
        sign = np.sign(np.dot(ours.projections[:, component], projected[:, component]))
        np.testing.assert_allclose(ours.projections[:, component] * sign, projected[:, component], atol=1e-9)
        np.testing.assert_allclose(ours.directions[component] * sign, reference.components_[component], atol=1e-9)
    np.testing.assert_allclose(ours.explained, reference.explained_variance_ratio_, rtol=1e-9)


def test_the_foreground_is_the_object_whatever_the_first_component_s_sign():
    features, grid = _features()
    first = principal_components(features, 1).projections[:, 0]
    expected = np.zeros(grid, dtype=bool)
    expected[2:6, 3:8] = True
    np.testing.assert_array_equal(foreground_mask(first, grid), expected)
    np.testing.assert_array_equal(foreground_mask(-first, grid), expected)
    picture = feature_picture(features, grid, masked=True)
    np.testing.assert_array_equal(picture.mask, expected)
    assert (picture.colours[~expected] == 0).all()
    kept = picture.colours[expected]
    np.testing.assert_allclose(kept.min(axis=0), 0) and np.testing.assert_allclose(kept.max(axis=0), 1)
    # The second PCA is scikit-learn's over the foreground patches only.
    reference = PCA(n_components=3, svd_solver="full").fit(features[expected.reshape(-1)])
    np.testing.assert_allclose(picture.shown.explained, reference.explained_variance_ratio_, rtol=1e-9)


def test_an_object_from_edge_to_edge_is_still_the_foreground():
    """A shoe spans the picture from the left edge to the right: as many border patches as the
    background, but nearer the centre."""
    grid = (7, 7)
    first = -np.ones(49)
    shoe = np.zeros(grid, dtype=bool)
    shoe[3:6, :] = True
    first[shoe.reshape(-1)] = 1.0
    np.testing.assert_array_equal(foreground_mask(first, grid), shoe)
    np.testing.assert_array_equal(foreground_mask(-first, grid), shoe)


def test_cosine_similarity_equals_scikit_learn():
    features, _ = _features()
    np.testing.assert_allclose(cosine_similarity_to(features, 17), cosine_similarity(features)[17], atol=1e-12)


def test_layers_at_a_relative_depth():
    assert [layer_at(p, 12) for p in (25, 50, 75, 100)] == [3, 6, 9, 12]
    assert [layer_at(p, 4) for p in (25, 50, 75, 100)] == [1, 2, 3, 4]
    assert [layer_at(p, 9) for p in (25, 50, 75, 100)] == [3, 5, 7, 9]
    with pytest.raises(ValueError):
        layer_at(0, 12)


def test_concentration_by_brute_force():
    rng = np.random.default_rng(3)
    values = rng.random((7, 9))
    values[5, 1] = 4.0
    result = concentration(values)
    ranked = sorted(values.reshape(-1), reverse=True)
    assert result.top_share == pytest.approx(sum(ranked[:6]) / values.sum())  # 10 % of 63 positions, rounded
    assert result.peak == (5, 1) and where(result.peak_fraction) == "bottom left"
    assert where((0.5, 0.5)) == "centre" and where((0.1, 0.5)) == "top centre"


def test_strongest_regions_overlap():
    left, right = np.zeros((14, 14)), np.zeros((14, 14))
    left[:, :4] = 1
    right[:, 10:] = 1
    assert region_overlap(left, left) == 1.0
    assert region_overlap(left, right) == 0.0
