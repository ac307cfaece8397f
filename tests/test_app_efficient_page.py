"""The efficient-convolutions page in AppTest: the ResNeXt and MobileNet panels with their
numbers, counted from real modules."""

import pytest

from tests.conftest import app_at, open_tab


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
