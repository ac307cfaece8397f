"""The feature-map and attribution pages in AppTest, on EfficientNet-Lite0's real weights."""

import pytest

from tests.conftest import app_at, figure_text, notebook_reproduces, open_tab


@pytest.fixture
def app():
    return app_at()


def test_feature_maps_walks_through_the_layers(app):
    app.switch_page("pages/feature_maps.py").run()
    assert not app.exception
    assert app.selectbox(key="layer_efficientnet_lite0_select").value == "blocks.2"
    for name in ("bn1", "blocks.6", "global_pool"):
        app.selectbox(key="layer_efficientnet_lite0_select").set_value(name).run()
        assert not app.exception, name
        assert app.select_slider(key="layer_efficientnet_lite0_slider").value == name
    assert "has no spatial extent: 1280 numbers" in app.info[0].value
    assert "strongest of 1280 units" in figure_text(app)
    app.select_slider(key="layer_efficientnet_lite0_slider").set_value("blocks.0").run()
    assert app.selectbox(key="layer_efficientnet_lite0_select").value == "blocks.0"
    assert "16 of 16 channels" in " ".join(c.value for c in app.caption)
    assert "tiger cat" not in figure_text(app)  # only the open tab runs
    assert "tiger cat" in figure_text(open_tab(app, "fm_tab", "Predictions"))


def test_switching_to_an_untrained_cnn_shows_the_banner_and_hides_predictions(app):
    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("mobilenet_v2").run()
    assert not app.exception
    assert "UNTRAINED WEIGHTS" in app.error[0].value
    assert "Class predictions are hidden" in " ".join(i.value for i in open_tab(app, "fm_tab", "Predictions").info)


def test_attributions_default_to_the_top_class_and_run_the_slow_methods(app):
    app.switch_page("pages/attributions.py").run()
    assert not app.exception
    target = next(box for box in app.selectbox if box.key.startswith("target_"))
    assert target.value == 282 and target.format_func(282).startswith("tiger cat")
    app.slider(key="occ_window").set_value(56)
    app.slider(key="occ_stride").set_value(56)
    app.button(key="run_Occlusion").click().run()
    assert not app.exception
    app.slider(key="ig_steps").set_value(8)
    app.button(key="run_Integrated Gradients").click().run()
    assert not app.exception
    app.button(key="run_Occlusion · random weights").click().run()
    assert not app.exception
    table = app.dataframe[0].value
    methods = ["Grad-CAM", "Saliency", "Integrated Gradients", "Occlusion", "random order"]
    assert table["method"].tolist() == methods
    assert table[["deletion area ↓", "insertion area ↑", "SRG ↑"]].notna().all().all()
    randomised = table.set_index("method")["ρ with random weights"]
    assert randomised[["Grad-CAM", "Saliency", "Occlusion"]].notna().all()
    assert randomised[["Integrated Gradients", "random order"]].isna().all()  # not run / not a map
    verdict = " ".join(m.value for m in app.markdown)
    best = table.loc[table["insertion area ↑"].idxmax()]
    assert f"**{best['method']}** by insertion area ({best['insertion area ↑']:.3f})" in verdict or \
        f"On this image {best['method']} scores best by every metric." in verdict
    curves = figure_text(app)
    for method in methods:
        assert f'"name":"{method}"' in curves, method


def test_untrained_weights_list_classes_without_probabilities_and_skip_the_sanity_check(app):
    app.switch_page("pages/attributions.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("mobilenet_v2").run()
    assert not app.exception
    assert "class predictions are hidden" in app.error[0].value
    target = next(box for box in app.selectbox if box.key.startswith("target_"))
    assert target.options[:3] == ["0: tench", "1: goldfish", "2: great white shark"]
    assert not any("%" in option for option in target.options)
    assert "weights are already random" in app.info[0].value
    assert app.dataframe[0].value["ρ with random weights"].isna().all()


def test_the_occlusion_window_stops_at_half_the_input(app):
    app.switch_page("pages/attributions.py").run()
    assert app.slider(key="occ_window").max == 112


def test_a_stride_larger_than_the_window_gives_a_message(app):
    app.switch_page("pages/attributions.py").run()
    app.slider(key="occ_window").set_value(8)
    app.slider(key="occ_stride").set_value(20).run()
    assert "The stride must not exceed the window." in " ".join(c.value for c in app.caption)
    app.button(key="run_Occlusion").click().run()
    assert not app.exception
    assert "must be between 1 and the window" in app.error[0].value


def test_the_chosen_model_follows_the_student_to_the_next_page(app):
    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("resnet50").run()
    app.switch_page("pages/attributions.py").run()
    assert not app.exception
    assert app.selectbox(key="chosen_cnn_widget").value == "resnet50"
    assert "at layer4, upsampled" in " ".join(c.value for c in app.caption)


def test_mlp_mixer_shows_its_tokens_as_maps_and_stays_chosen_past_attributions(app):
    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("mixer_b16").run()
    assert not app.exception
    assert "UNTRAINED WEIGHTS" in app.error[0].value  # offline: no Mixer weights here
    reading = app.info[0].value
    assert "its 196 tokens (one per 16×16 px patch)" in reading and "768 features reads as a 14×14 map" in reading
    assert "From blocks.0.add on" in reading
    app.selectbox(key="layer_mixer_b16_select").set_value("blocks.5.add_1").run()
    assert "768 × 14 × 14" in [m.value for m in app.metric]
    assert "whole image" in [m.value for m in app.metric]
    shown = " ".join(c.value for c in open_tab(app, "fm_tab", "One channel").caption)
    assert "Every unit of this map sees the whole image" in shown
    app.switch_page("pages/attributions.py").run()  # which lists only CNNs: its default is shown
    assert not app.exception
    assert app.selectbox(key="chosen_cnn_widget").value == "efficientnet_lite0"
    app.switch_page("pages/feature_maps.py").run()
    assert app.selectbox(key="chosen_cnn_widget").value == "mixer_b16"


def test_cvt_shows_its_stage_maps_and_their_reach(app):
    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="chosen_cnn_widget").set_value("cvt_13").run()
    assert not app.exception
    reading = app.info[0].value
    assert "between its 3 stages (56×56, 28×28, 14×14)" in reading and "every unit of every stage sees" in reading
    app.selectbox(key="layer_cvt_13_select").set_value("cvt.encoder.stages.1").run()
    assert "192 × 28 × 28" in [m.value for m in app.metric]
    assert "64 filters of the first convolution (7×7 px" in " ".join(
        c.value for c in open_tab(app, "fm_tab", "First-layer filters").caption)


def test_out_of_memory_gives_a_message_and_the_session_keeps_working(app, monkeypatch):
    import app.cnn.capture as capture_module
    import components.cnn_capture as cnn_capture

    def exhausted(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    from components.server_state import CAPTURES

    CAPTURES.clear()  # the capture must really run, not come from an earlier test's cache
    monkeypatch.setattr(cnn_capture, "capture_activations", exhausted)
    app.switch_page("pages/feature_maps.py").run()
    assert not app.exception
    assert any("Not enough memory for running" in e.value for e in app.error)
    monkeypatch.setattr(cnn_capture, "capture_activations", capture_module.capture_activations)
    app.run()
    assert not app.exception and not any("Not enough memory" in e.value for e in app.error)


def test_a_layer_change_reuses_the_shared_capture(app):
    from components.server_state import CAPTURES

    app.switch_page("pages/feature_maps.py").run()
    before = CAPTURES.stats()
    app.selectbox(key="layer_efficientnet_lite0_select").set_value("blocks.4").run()
    after = CAPTURES.stats()
    assert not app.exception
    assert after["misses"] == before["misses"] and after["hits"] == before["hits"] + 1
    assert 0 < after["bytes"] <= CAPTURES.max_bytes


def test_a_slow_attribution_paid_for_comes_back_in_a_new_session_of_the_workspace(app):
    """A reload (a new session on the same workspace) shows Occlusion's map without a Run button.
    (AppTest reruns only the page, so the test sets the same window again; Chromium sees the
    choices come back in tests/test_e2e_workspace.py.)"""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    app.switch_page("pages/attributions.py").run()
    app.slider(key="occ_window").set_value(56)
    app.slider(key="occ_stride").set_value(56)
    app.button(key="run_Occlusion").click().run()
    assert not app.exception and not any(b.key == "run_Occlusion" for b in app.button)
    reopened = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    reopened.query_params["w"] = app.session_state["_workspace"]
    reopened.run()
    reopened.switch_page("pages/attributions.py").run()
    reopened.slider(key="occ_window").set_value(56)
    reopened.slider(key="occ_stride").set_value(56).run()
    assert not reopened.exception
    assert not any(b.key == "run_Occlusion" for b in reopened.button)  # shown, not offered again
    fresh = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    fresh.run()  # another workspace: nothing of the first one's
    fresh.switch_page("pages/attributions.py").run()
    fresh.slider(key="occ_window").set_value(56)
    fresh.slider(key="occ_stride").set_value(56).run()
    assert any(b.key == "run_Occlusion" for b in fresh.button)


def test_the_notebook_code_draws_the_mosaic_on_screen(app):
    """The expander's Python, run as a notebook runs it (its own model load, its own forward
    pass), makes the very mosaic the page shows for the layer, order, count and colours chosen."""

    app.switch_page("pages/feature_maps.py").run()
    app.selectbox(key="layer_efficientnet_lite0_select").set_value("blocks.3").run()
    app.radio(key="fm_order").set_value("max")
    app.selectbox(key="fm_colormap").set_value(app.selectbox(key="fm_colormap").options[2])
    app.radio(key="fm_scale").set_value("shared across the layer").run()
    app.slider(key="fm_top_efficientnet_lite0_blocks.3").set_value(12).run()
    assert not app.exception
    code, _ = notebook_reproduces(app, "mosaic_figure", "mosaic")
    assert "sample_bytes('cat')" in code and "'blocks.3'" in code and "[:12]" in code



def test_the_notebook_code_draws_each_attribution_map_on_screen(app):
    """Each map's Python, run as a notebook runs it, makes the very figure the page shows for
    the class, opacity and slow-method settings chosen (Grad-CAM from one pass; Occlusion
    from its own greyed windows)."""

    app.switch_page("pages/attributions.py").run()
    [target] = [s for s in app.selectbox if s.key.startswith("target_")]
    top_class = target.value
    target.select_index(1)  # the second most probable class
    app.slider(key="attr_opacity").set_value(0.8)
    app.slider(key="occ_window").set_value(56)
    app.slider(key="occ_stride").set_value(56).run()
    app.button(key="run_Occlusion").click().run()
    assert not app.exception
    for method, call in (("Grad-CAM", "['Grad-CAM']"), ("Occlusion", "= occlusion(")):
        code, cell = notebook_reproduces(app, call, f"map_{method}")
        assert cell["target"] == app.selectbox(key=target.key).value != top_class
    assert "0.8)" in code and "target, 56, 56)" in code
