"""The Swin page in AppTest: the tiny Swin trained here, Swin-T's geometry at 224² and 256², padding."""

import pytest

from tests.conftest import app_at, figure_text, notebook_reproduces, open_tab


@pytest.fixture
def app():
    return app_at("pages/swin_windows.py")


def _table(at):
    return at.dataframe[0].value


def test_tiny_swin_shows_both_block_kinds_and_its_unshifted_second_stage(app):
    assert app.selectbox(key="chosen_swin_widget").value == "tiny_swin_fmnist"
    assert not app.error  # trained here: no untrained banner
    table = _table(app)
    assert list(table["Windows"]) == [4, 1]
    assert list(table["Shift"]) == ["3", "0 (forced: one window covers the map)"]
    figures = figure_text(open_tab(app, "swin_tab", "Real attention"))
    assert "Block 1: regular windows" in figures and "Block 2: shifted windows, masked keys grey" in figures
    app.radio(key="swin_stage").set_value(2).run()
    assert not app.exception
    assert "This stage has no shifted block" in " ".join(c.value for c in app.caption)
    assert any("window covers the whole map" in i.value for i in open_tab(app, "swin_tab", "Windows").info)


def test_swin_t_geometry_at_224_and_256_and_a_padded_size(app):
    app.selectbox(key="chosen_swin_widget").set_value("swin_t").run()
    assert not app.exception and "UNTRAINED WEIGHTS" in app.error[0].value
    assert list(_table(app)["Windows"]) == [64, 16, 4, 1]
    app.radio(key="swin_size").set_value(256).run()
    app.radio(key="swin_window").set_value(8).run()
    assert not app.exception
    assert list(_table(app)["Windows"]) == [64, 16, 4, 1]
    assert list(_table(app)["Tokens"]) == ["64×64", "32×32", "16×16", "8×8"]
    app.radio(key="swin_size").set_value(224).run()
    app.radio(key="swin_stage").set_value(2).run()
    assert not app.exception
    assert "padded to 32" in " ".join(c.value for c in app.caption)
    figures = figure_text(open_tab(app, "swin_tab", "Cyclic shift"))
    assert "rolled by 3" in figures and "windows cut" in figures


def test_captions_follow_the_chosen_window_and_count_right(app):
    app.selectbox(key="chosen_swin_widget").set_value("swin_t").run()
    captions = lambda: " ".join(c.value for c in app.caption)  # noqa: E731
    assert "Attention inside 7×7 windows" in captions()
    app.radio(key="swin_size").set_value(256).run()
    app.radio(key="swin_window").set_value(8).run()
    assert "Attention inside 8×8 windows" in captions() and "7×7 windows" not in captions()
    app.radio(key="swin_stage").set_value(4).run()  # 8×8 tokens: one window
    pictures = " ".join(str(element.proto) for element in app.main if type(element).__name__ == "Image")
    assert "1 window of 8×8 tokens" in pictures and "1 windows" not in pictures


def test_the_notebook_code_draws_the_shifted_blocks_attention_on_screen(app):
    """The real-attention tab's Python, run as a notebook runs it, makes the very mosaic the page
    shows for the second (shifted) block, its default token and the colours chosen."""

    open_tab(app, "swin_tab", "Real attention")
    app.selectbox(key="swin_colormap").select_index(0).run()
    assert not app.exception
    code, cell = notebook_reproduces(app, "window_attention_mosaic", "swin_attention_1")
    assert cell["capture"].block(0, 1).shifted and "capture.block(0, 1)" in code
