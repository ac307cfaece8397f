"""The attention page in AppTest: the trained tiny ViT on Fashion-MNIST, an untrained DINO, impossible sizes."""

import pytest

from app.training.fashion_mnist import fashion_mnist_dir
from tests.conftest import app_at, figure_text, notebook_reproduces, open_tab, stay_on_page

needs_fashion_mnist = pytest.mark.skipif(fashion_mnist_dir() is None, reason="needs dataset-fashion-mnist")


@pytest.fixture
def app():
    return app_at("pages/vit_attention.py")


@needs_fashion_mnist
def test_tiny_vit_on_fashion_mnist_shows_heads_rollout_gradcam_and_predictions(app):
    assert app.selectbox(key="chosen_vit_dino_widget").value == "tiny_vit_fmnist"
    assert "Test image 0: **Ankle boot**" in " ".join(c.value for c in app.caption)
    assert not app.error  # trained: no banner
    assert "head %{z}" in figure_text(app)
    figures = figure_text(open_tab(app, "vit_tab", "Rollout"))
    for title in ("Attention rollout", "Raw layer 6, mean of heads", "Grad-CAM: Ankle boot"):
        assert title in figures, title
    assert "Ankle boot" in figure_text(open_tab(app, "vit_tab", "Predictions"))  # the top-5 chart
    open_tab(app, "vit_tab", "Heads")
    app.number_input(key="fmnist_index").set_value(1).run()
    assert not app.exception
    app.toggle(key="heads_mask").set_value(True).run()
    assert not app.exception


def test_the_users_image_converted_for_the_tiny_vit_says_so(app):
    app.radio(key="tiny_input").set_value("Your image, converted").run()
    assert not app.exception
    assert "shrunk to 28×28 grey" in app.info[0].value


def test_untrained_dino_at_a_larger_size_and_a_refused_one(app):
    app.selectbox(key="chosen_vit_dino_widget").set_value("dino_vit_b16").run()
    assert not app.exception
    assert "UNTRAINED WEIGHTS" in app.error[0].value
    assert "has no classifier" in " ".join(i.value for i in open_tab(app, "vit_tab", "Predictions").info)
    app.select_slider(key="size_dino_vit_b16").set_value(320).run()
    assert not app.exception
    assert "401 tokens" in " ".join(c.value for c in app.caption)
    app.select_slider(key="size_dino_vit_b16").set_value(640).run()
    assert not app.exception
    assert "showing 480² instead" in app.warning[0].value


def test_distance_comparison_with_a_second_model(app):
    open_tab(app, "vit_tab", "Attention distance")
    app.selectbox(key="distance_other").set_value("deit_s16").run()
    assert not app.exception
    assert "DeiT-S\\u002f16 (untrained)" in figure_text(app)  # plotly escapes "/" in its JSON


def test_the_rollout_row_draws_its_maps_at_one_size_with_plain_colour_bars(app):
    import json

    app.radio(key="tiny_input").set_value("Your image, converted").run()
    open_tab(app, "vit_tab", "Rollout")
    assert not app.exception
    figures = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert len(figures) == 3
    layouts = [(f["layout"]["height"], f["layout"]["margin"], f["layout"]["yaxis"]["domain"]) for f in figures]
    assert layouts[1:] == layouts[:-1]  # same height, margins and picture area: one size side by side
    colorbars = [f["data"][1]["colorbar"] for f in figures]
    assert all(bar["orientation"] == "h" and bar["exponentformat"] == "none" for bar in colorbars)
    assert [bar.get("tickformat") for bar in colorbars] == [".2~%", ".2~%", None]
    assert all(f["data"][1]["colorscale"][0][1].endswith(",0.000)") for f in figures)  # zero is transparent


@needs_fashion_mnist
def test_the_rollout_tabs_grad_cam_is_kept_not_recomputed_on_every_rerun(app):
    """Grad-CAM takes the shared model alone (captum's hooks): it is computed once per input,
    model and class, not again when another control of the tab moves."""
    import pretrained
    from components.server_state import MODEL_CACHE

    open_tab(app, "vit_tab", "Rollout")
    spec = pretrained.get_spec("tiny_vit_fmnist")
    key = ("tiny_vit_fmnist", "cpu", pretrained.weights_fingerprint(spec))
    assert key in MODEL_CACHE
    model = MODEL_CACHE.get(key, lambda: None).model
    passes = []
    hook = model.register_forward_hook(lambda *_: passes.append(1))
    try:
        for discard in (0.3, 0.6):
            app.slider(key="rollout_discard").set_value(discard).run()
    finally:
        hook.remove()
    assert not app.exception and "Grad-CAM: Ankle boot" in figure_text(app)
    assert passes == []


@needs_fashion_mnist
def test_the_notebook_code_draws_the_heads_on_screen(app):
    """The heads tab's Python, run as a notebook runs it, makes the very mosaic the page shows:
    for a Fashion-MNIST test image with DINO's mask, and for the user's own picture."""

    app.number_input(key="fmnist_index").set_value(3)
    app.slider(key="heads_layer").set_value(2)
    app.radio(key="heads_upsampling").set_value("smooth")
    app.toggle(key="heads_mask").set_value(True).run()
    app.slider(key="heads_mass").set_value(80).run()
    assert not app.exception
    code, _ = notebook_reproduces(app, "head_maps_mosaic", "heads")
    assert "test_image_rgb(3)" in code and "mass_threshold_mask(maps, 0.8)" in code
    app.radio(key="tiny_input").set_value("Your image, converted").run()
    code, _ = notebook_reproduces(app, "head_maps_mosaic", "heads")
    assert "sample_bytes('cat')" in code


def test_a_layer_beyond_the_chosen_model_s_depth_falls_back_to_its_last(served_app):
    """The layer slider's value outlived a 12-block model (a reload, a lesson's scene): the
    6-block tiny ViT's slider refuses it; the page forgets it instead of failing."""
    served_app.session_state["heads_layer"] = 12
    stay_on_page(served_app.switch_page("pages/vit_attention.py").run())
    assert not served_app.exception
    assert served_app.selectbox(key="chosen_vit_dino_widget").value == "tiny_vit_fmnist"
    assert served_app.slider(key="heads_layer").value == 6
