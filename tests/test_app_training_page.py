"""The live-training page in AppTest: a run on the digits that diverges says so, the app goes on."""

import pytest

from tests.conftest import app_at

DIGITS = "Digits (8×8, scikit-learn)"


@pytest.fixture
def app():
    return app_at("pages/training.py", timeout_s=120)


def _finish_runs(at):
    for run in at.session_state["training_runs"]:
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
