"""The live-training page in AppTest: a run on the digits that diverges says so, the app goes on."""

import pytest

from components.server_state import WORKSPACE_WORK
from tests.conftest import app_at, notebook_reproduces, open_tab

DIGITS = "Digits (8×8, scikit-learn)"


@pytest.fixture
def app():
    return app_at("pages/training.py", timeout_s=120)


def _finish_runs(at):
    for run in WORKSPACE_WORK.live(at.session_state["_workspace"]).values():
        run.thread.join(timeout=60)
    at.run()


def test_a_diverging_run_shows_its_message_and_the_page_keeps_working(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.selectbox(key="train_model").set_value("MLP")
    app.selectbox(key="train_optimizer").set_value("SGD")
    app.number_input(key="train_lr").set_value(1e6)
    app.number_input(key="train_epochs").set_value(3).run()
    app.button(key="train_start").click().run()
    assert not app.exception
    _finish_runs(app)
    assert not app.exception
    assert any("stopped: the loss became" in e.value for e in app.error)
    table = app.dataframe[0].value
    assert table.loc[0, "Status"] == "failed"


def test_an_ab_pair_compares_batch_norm_and_offers_the_probe(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.selectbox(key="train_model").set_value("MLP")
    app.number_input(key="train_epochs").set_value(4).run()
    app.button(key="train_start_ab").click().run()
    _finish_runs(app)
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["Run"]) == ["run 1: BN off", "run 2: BN on"]
    assert (table["Status"] == "finished").all() and (table["Val accuracy"] > 0.5).all()
    open_tab(app, "train_after_tab", "Batch norm's probe")  # only the open tab runs
    figures = " ".join(str(chart.proto.spec) for chart in app.get("plotly_chart"))
    assert "batch norm on" in figures and "batch norm off" in figures  # the probe, side by side


def test_too_many_active_runs_are_refused(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.number_input(key="train_epochs").set_value(200).run()
    app.button(key="train_start_ab").click().run()
    app.button(key="train_start").click().run()
    assert "At most 2 runs at a time" in app.warning[0].value
    app.button(key="train_stop").click().run()
    _finish_runs(app)
    assert set(app.dataframe[0].value["Status"]) == {"stopped"}


def _train(at, epochs=1, ab=False):
    at.number_input(key="train_epochs").set_value(epochs).run()
    at.button(key="train_start_ab" if ab else "train_start").click().run()
    _finish_runs(at)
    assert not at.exception


def test_ab_pairs_offer_skip_connections_only_for_the_network_that_has_them(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    for model in ("LeNet-5", "MLP", "Small VGG", "Tiny ViT", "Small ResNet"):
        app.selectbox(key="train_model").set_value(model).run()
        assert ("skip connections" in app.selectbox(key="train_ab").options) == (model == "Small ResNet")
        assert app.toggle(key="train_skips").proto.disabled == (model != "Small ResNet")


def test_after_the_run_follows_the_run_that_finished_last_until_one_is_chosen(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.selectbox(key="train_model").set_value("MLP").run()
    _train(app, epochs=2)
    assert app.selectbox(key="train_after").value == "run 1"
    app.toggle(key="train_bn").set_value(True).run()
    _train(app)
    assert app.selectbox(key="train_after").value == "run 2"  # the newest, not the one shown before
    open_tab(app, "train_after_tab", "Batch norm's probe")
    # The probe puts run 2 (BN on, 1 epoch) beside run 1 (BN off, 2 epochs) and says they differ in length.
    assert any("run 2: batch norm on: 1 epochs" in i.value and "run 1: batch norm off: 2 epochs" in i.value
               for i in app.info)
    app.selectbox(key="train_after").set_value("run 1").run()
    app.run()
    assert app.selectbox(key="train_after").value == "run 1"  # a choice stays...
    _train(app)
    assert app.selectbox(key="train_after").value == "run 3"  # ...until another run finishes


def test_runs_on_two_datasets_are_told_apart_in_labels_and_table(app):
    app.selectbox(key="train_model").set_value("MLP")
    app.select_slider(key="train_validation").set_value(200).run()
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    _train(app)
    app.selectbox(key="train_dataset").set_value("Fashion-MNIST").run()
    _train(app)
    table = app.dataframe[0].value
    assert list(table["Dataset"]) == [DIGITS, "Fashion-MNIST"]
    assert list(table["Run"]) == [f"run 1: {DIGITS}", "run 2: Fashion-MNIST"]
    assert any(f"different data ({DIGITS}, Fashion-MNIST)" in c.value for c in app.caption)


def test_a_wide_turn_of_digits_is_warned_with_the_digits_it_confuses(app):
    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.slider(key="aug_rotation").set_value(10).run()
    assert not [w for w in app.warning if "breaks labels" in w.value]
    app.slider(key="aug_rotation").set_value(60).run()
    warning = next(w.value for w in app.warning if "breaks labels" in w.value)
    assert "Turning by ±60°" in warning and " → " in warning


def test_the_notebook_code_trains_the_same_curves_again(app):
    """The curves' Python, run as a notebook runs it, trains each run again from its settings
    and seed on the same split, and draws the very figure the page shows (smoothing included)."""

    app.selectbox(key="train_dataset").set_value(DIGITS).run()
    app.selectbox(key="train_model").set_value("MLP")
    app.number_input(key="train_epochs").set_value(2)
    app.number_input(key="train_seed").set_value(7).run()
    app.button(key="train_start_ab").click().run()
    _finish_runs(app)
    app.slider(key="train_smoothing").set_value(0.3).run()
    assert not app.exception
    code, cell = notebook_reproduces(app, "curves_figure", "train_curves")
    assert [r.config.batch_norm for r in cell["runs"]] == [False, True] and "seed=7" in code
