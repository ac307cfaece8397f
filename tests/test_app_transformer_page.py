"""The Inside-the-Transformer page in AppTest: what each view shows equals an independent
computation (torch's MultiheadAttention, timm's own forward, forward hooks, scikit-learn)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import cosine_similarity

import pretrained
from app.images import decode_image
from app.preprocess import model_view, normalize
from app.samples import sample_bytes
from app.training import fashion_mnist
from app.training.fashion_mnist import fashion_mnist_dir
from app.transformer.sentence import SENTENCE
from tests.conftest import app_at, chart_spec, figure_array, open_tab
from tests.test_transformer_internals import torch_sentence_attention

needs_fashion_mnist = pytest.mark.skipif(fashion_mnist_dir() is None, reason="needs dataset-fashion-mnist")


@pytest.fixture
def app():
    return app_at("pages/transformer_internals.py")


@pytest.mark.parametrize("head", [1, 2])
def test_the_sentence_shows_torch_s_attention_and_says_where_a_word_looks(app, head):
    app.radio(key="steps_sentence_head").set_value(head).run()
    weights = torch_sentence_attention()[1][head - 1]
    shown = app.dataframe[6].value  # step 5, the attention table
    np.testing.assert_allclose(shown[list(SENTENCE)].to_numpy(float), weights.numpy(), atol=0.005)
    for word in (3, 0):
        app.selectbox(key="steps_sentence_word").set_value(word).run()
        favourite = int(weights[word].argmax())
        said = next(m.value for m in app.markdown if "attends most to" in m.value)
        assert said.startswith(f"**{SENTENCE[word]}** attends most to **{SENTENCE[favourite]}**")
        assert f"{float(weights[word, favourite]):.2f} of its attention" in said


@needs_fashion_mnist
def test_the_tiny_vit_s_steps_for_a_clicked_patch_equal_timm_s_attention(app):
    app.radio(key="steps_on").set_value("The current image").run()
    app.slider(key="steps_layer_tiny_vit_fmnist").set_value(5).run()
    app.slider(key="steps_head_tiny_vit_fmnist").set_value(3).run()
    app.session_state["steps_click_tiny_vit_fmnist_28"] = {"x": 90, "y": 20, "width": 100, "height": 100}
    app.run()
    assert not app.exception
    assert any("patch (1, 6) is framed" in c.value for c in app.caption)
    # The oracle: timm's own forward of the shipped model, its softmax read from q and k by a hook.
    loaded = pretrained.load_model(pretrained.get_spec("tiny_vit_fmnist"), "cpu")
    model = loaded.model
    seen = {}
    block = model.blocks[4]
    handle = block.attn.qkv.register_forward_hook(lambda module, args, output: seen.setdefault("qkv", output))
    with torch.no_grad():
        model(normalize(fashion_mnist.test_image_rgb(0), loaded.spec.preprocessing))
    handle.remove()
    q, k, _ = seen["qkv"].reshape(1, 50, 3, 4, 16).permute(2, 0, 3, 1, 4)
    expected = ((q @ k.transpose(-2, -1)) / 4).softmax(dim=-1)[0, 2, 1 + 1 * 7 + 6, 1:].reshape(7, 7)
    shown = figure_array(chart_spec(app, "steps_where")["data"][-1]["z"])
    np.testing.assert_allclose(shown, expected.numpy(), rtol=1e-4, atol=1e-6)
    said = next(m.value for m in app.markdown if "Step 12 is what the block computes" in m.value)
    assert float(re.search(r"largest difference is ([0-9.e+-]+),", said).group(1)) < 1e-5
    app.toggle(key="steps_follow_cls").set_value(True).run()
    assert any("Followed: **CLS**" in c.value for c in app.caption)


def test_four_families_state_what_their_maps_hold(app):
    open_tab(app, "inside_tab", "Four families at one depth")
    app.select_slider(key="families_depth").set_value(75).run()
    assert not app.exception
    # ViT, DINO and Swin run untrained offline: one banner names them, each heading says so.
    assert "UNTRAINED WEIGHTS — ViT-B/16, DINO ViT-S/16, Swin-T" in app.error[0].value
    assert sum("**untrained**" in m.value for m in app.markdown) == 3
    # The CNN's map is the channel norm of EfficientNet-Lite0's blocks.5 (7 of its 9 spatial layers).
    loaded = pretrained.load_model(pretrained.get_spec("efficientnet_lite0"), "cpu")
    seen = {}
    handle = loaded.model.blocks[5].register_forward_hook(lambda module, args, output: seen.setdefault("out", output))
    with torch.no_grad():
        view = model_view(decode_image(sample_bytes("cat")).rgb, loaded.spec.preprocessing)
        loaded.model(normalize(view, loaded.spec.preprocessing))
    handle.remove()
    expected = torch.linalg.vector_norm(seen["out"][0], dim=0).numpy()
    shown = figure_array(chart_spec(app, "families_CNN")["data"][-1]["z"])
    np.testing.assert_allclose(shown, expected, rtol=1e-4, atol=1e-5)
    assert any("feature norm at blocks.5 (7 of 9 layers)" in c.value for c in app.caption)
    said = next(m.value for m in app.markdown if "Where each response concentrates" in m.value)
    for family in ("CNN", "ViT", "DINO", "Swin"):
        values = figure_array(chart_spec(app, f"families_{family}")["data"][-1]["z"]).reshape(-1)
        top = np.sort(values)[::-1][: max(1, round(0.1 * values.size))].sum() / values.sum()
        assert f"**{family}**: its strongest tenth of positions holds {top:.0%}" in said


@needs_fashion_mnist
def test_dino_features_are_scikit_learn_s_pca_and_cosine_similarity(app):
    open_tab(app, "inside_tab", "DINO's features")
    app.session_state["pca_click_tiny_vit_fmnist_28"] = {"x": 50, "y": 50, "width": 100, "height": 100}
    app.run()
    assert not app.exception
    assert "trained with labels" in app.info[0].value
    loaded = pretrained.load_model(pretrained.get_spec("tiny_vit_fmnist"), "cpu")
    with torch.no_grad():  # timm's own forward: the last block's tokens after the final norm
        batch = normalize(fashion_mnist.test_image_rgb(0), loaded.spec.preprocessing)
        features = loaded.model.forward_features(batch)[0, 1:]
    features = features.numpy()
    shown = figure_array(chart_spec(app, "pca_similarity")["data"][-1]["z"]).reshape(-1)
    np.testing.assert_allclose(shown, cosine_similarity(features)[3 * 7 + 3], atol=1e-5)
    first = PCA(n_components=1).fit_transform(features)[:, 0]
    caption = next(c.value for c in app.caption if "principal components" in c.value)
    count = int(re.search(r"Foreground: (\d+) of 49", caption).group(1))
    assert count in ((first > 0).sum(), (first < 0).sum())  # one side of the first component
    side = first > 0 if count == (first > 0).sum() else first < 0
    explained = PCA(n_components=3).fit(features[side]).explained_variance_ratio_
    assert ", ".join(f"{share:.0%}" for share in explained) in caption
    app.toggle(key="pca_masked").set_value(False).run()
    explained = PCA(n_components=3).fit(features).explained_variance_ratio_
    assert ", ".join(f"{share:.0%}" for share in explained) in next(
        c.value for c in app.caption if "principal components" in c.value)


def test_the_register_toggle_swaps_dinov2_for_its_twin_and_states_the_token_norms(app):
    open_tab(app, "inside_tab", "DINO's features")
    assert app.toggle(key="pca_registers").disabled  # the tiny ViT has no twin with registers
    app.selectbox(key="chosen_vit_dino_widget").set_value("dinov2_vit_s14").run()
    assert not app.exception and app.toggle(key="pca_registers").value is False
    caption = app.caption[-1].value
    assert "Tokens before the patches: CLS " in caption and "register" not in caption.split("Darcet")[0]
    app.toggle(key="pca_registers").set_value(True).run()
    assert not app.exception
    assert app.selectbox(key="chosen_vit_dino_widget").value == "dinov2_vit_s14_reg"
    assert app.toggle(key="pca_registers").value is True
    caption = app.caption[-1].value
    assert all(f"register {i} " in caption for i in range(1, 5))
    # The norms drawn are the capture's, patch by patch (16×16 patches of 14 px at 224 px).
    shown = figure_array(chart_spec(app, "pca_norms")["data"][-1]["z"])
    assert shown.shape == (16, 16)
    median = float(re.search(r"Median patch norm ([\d.]+)", caption).group(1))
    assert median == pytest.approx(float(np.median(shown)), abs=0.06)
    count = int(re.search(r"(\d+) of 256 patches are above 2× the median", caption).group(1))
    assert count == int((shown > 2 * np.median(shown)).sum())
    app.toggle(key="pca_registers").set_value(False).run()
    assert app.selectbox(key="chosen_vit_dino_widget").value == "dinov2_vit_s14"
