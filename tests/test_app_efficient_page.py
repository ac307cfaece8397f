"""The efficient-convolutions page in AppTest: the ResNeXt and MobileNet panels with their
numbers, counted from real modules; RepVGG's and RepLKNet's fusion on the image."""

import pytest

from app.images import decode_image
from app.samples import DEFAULT_SAMPLE, sample_bytes
from tests.conftest import app_at, chart_spec, open_tab


@pytest.fixture
def app():
    return app_at("pages/efficient_convolutions.py")


def test_resnext_panel_counts_both_blocks(app):
    open_tab(app, "blocks_tab", "ResNeXt's paths")
    assert [m.value for m in app.metric] == ["69,632", "70,144"]
    app.select_slider(key="resnext_cardinality").set_value(8)
    app.slider(key="resnext_width").set_value(14).run()
    assert app.metric[1].value == f"{8 * (2 * 256 * 14 + 9 * 14 * 14):,}"
    text = " ".join(m.value for m in app.markdown)
    assert "C = 2 → d = 40" in text and "C = 32 → d = 4" in text
    assert "differ by at most" in " ".join(c.value for c in app.caption)


def test_separable_panel_reads_mobilenet_v1_and_times_both_layers(app):
    open_tab(app, "blocks_tab", "Depthwise separable")
    assert len(app.dataframe[0].value) == 28
    assert "569 M multiply-adds" in " ".join(m.value for m in app.markdown)
    app.select_slider(key="separable_alpha").set_value(0.25).run()
    assert "41 M multiply-adds" in " ".join(m.value for m in app.markdown)
    assert any("fewer multiply-adds" in m.value and "ms" in m.value for m in app.markdown)
    assert not app.exception


def test_reparameterisation_panel_fuses_on_the_image_and_times_both_forms(app):
    from app.atlas import reparam
    from components.blocks_work import image_batch, repvgg

    open_tab(app, "blocks_tab", "Re-parameterisation")
    assert not app.exception
    assert any("UNTRAINED WEIGHTS" in e.value for e in app.error)
    app.selectbox(key="reparam_block").set_value("stages.0.1")
    app.slider(key="reparam_channel").set_value(5).run()
    assert not app.exception
    spec = chart_spec(app, "reparam_kernels")
    labels = [a["text"] for a in spec["layout"]["annotations"]]
    assert {"3×3 conv + BN", "1×1 conv + BN", "identity BN", "fused"} <= set(labels)
    assert spec["layout"]["title"]["text"] == "stages.0.1: output channel 5, input channel 5"
    # The difference stated is the one measured here, on the same image through the same model.
    model = repvgg()
    block = model.get_submodule("stages.0.1")
    fed = reparam.input_of(model, block, image_batch(decode_image(sample_bytes(DEFAULT_SAMPLE), "cat").rgb))
    compared = reparam.branch_and_fused_outputs(block, fed)
    words = " ".join(m.value for m in app.markdown)
    assert f"differ by at most **{compared.max_abs_difference:.1e}**" in words and "96 × 56 × 56" in words
    assert compared.max_abs_difference < 1e-5 * compared.max_abs_output
    assert words.count("the training-time form takes") == 2 and "128 channels on 56×56" in words  # RepVGG's block and the 31×31 pair, timed
    assert [a["text"] for a in chart_spec(app, "reparam_large")["layout"]["annotations"]][:2] == [
        "31×31 depthwise + BN", "5×5 depthwise + BN"]


def test_inverted_residual_panel_draws_the_block_and_measures_its_memory(app):
    from components.server_state import SHARED_JOBS

    open_tab(app, "blocks_tab", "Inverted residual")
    assert not app.exception
    app.select_slider(key="inverted_block").set_value(3).run()
    shapes = chart_spec(app, "inverted_figure")["layout"]["shapes"]
    assert [s["name"] for s in shapes if s["type"] == "rect"] == ["56×56×24", "56×56×144", "56×56×144", "56×56×24"]
    assert "its widest tensor is 56×56×144, 6× its input" in " ".join(c.value for c in app.caption)
    [job] = [j for key, j in SHARED_JOBS.items() if key[0] == "mobilenet memory"]
    measured = job.snapshot().result
    table = app.dataframe[0].value
    assert list(table["Peak memory (MB)"]) == pytest.approx(
        [b / 1e6 for b in (measured.v1_block, measured.v2_block, measured.v2_block_streamed, measured.v1_network,
                           measured.v2_network, measured.v2_network_streamed)])
    assert measured.v2_block_streamed < measured.v2_expanded_bytes + measured.v2_block / 4  # one slice, not six
    words = " ".join(m.value for m in app.markdown)
    assert f"**{measured.v2_block_streamed / 1e6:.2f} MB**, {measured.v2_block / measured.v2_block_streamed:.1f}× less" \
        in words
    assert "v1's 112×112×64 is **1,606 kB**" in words and "v2's 112×112×16 is **401 kB**" in words
