"""The optimizer race in AppTest: defaults, every surface, bad learning rates, a click-set start."""

import pytest

from app.surfaces import SURFACES
from tests.conftest import app_at


@pytest.fixture
def app():
    return app_at("pages/optimizers.py", timeout_s=120)


def _table(at):
    return at.dataframe[0].value.set_index("Optimizer")


def test_default_race_on_the_bowl_converges(app):
    table = _table(app)
    assert list(table.index) == ["SGD", "Momentum (PyTorch)", "Nesterov", "RMSProp", "Adam"]
    assert (table["Diverged"] == "no").all()
    assert table.loc["Nesterov", "Final loss"] < 1e-6


@pytest.mark.parametrize("surface", list(SURFACES))
def test_every_surface_races_without_an_exception(app, surface):
    app.selectbox(key="race_surface").set_value(surface).run()
    assert not app.exception
    assert len(_table(app)) == 5


def test_an_enormous_learning_rate_is_marked_diverged_and_zero_stays_put(app):
    app.number_input(key="lr_Quadratic bowl_SGD").set_value(5.0).run()
    assert not app.exception
    assert _table(app).loc["SGD", "Diverged"].startswith("at step")
    app.number_input(key="lr_Quadratic bowl_Adam").set_value(0.0).run()
    assert "never moves" in app.info[0].value
    app.number_input(key="lr_Quadratic bowl_Adam").set_value(-0.1).run()
    assert not app.exception and "climbs uphill" in app.warning[0].value


def test_a_start_outside_the_view_is_flagged(app):
    app.number_input(key="start_x_Quadratic bowl").set_value(10.0).run()
    assert not app.exception
    assert "outside the plotted range" in app.warning[0].value


def test_schedules_and_all_optimizers(app):
    app.multiselect(key="race_optimizers").set_value(
        ["GD", "SGD", "Momentum (course)", "Momentum (PyTorch)", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"]
    ).run()
    for schedule in ("step decay", "1/t", "cosine"):
        app.selectbox(key="race_schedule").set_value(schedule).run()
        assert not app.exception, schedule
    table = _table(app)
    assert len(table) == 9
    # The course's momentum and PyTorch's take the same steps at matched rates.
    assert table.loc["Momentum (course)", "Final loss"] == pytest.approx(table.loc["Momentum (PyTorch)", "Final loss"],
                                                                         rel=1e-6)
