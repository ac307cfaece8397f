"""The optimizer race in AppTest: every control of the page once, bad learning rates, and the
hyperparameter inputs against torch.optim."""

import json

import pytest
import torch

from app.optim.race import default_racers
from app.optim.replay import REPLAY_FRAMES
from app.optim.surfaces import SURFACES
from tests.conftest import app_at, notebook_cell, open_tab

ALL = list(default_racers(SURFACES["Quadratic bowl"]))


@pytest.fixture
def app():
    return app_at("pages/optimizers.py", timeout_s=120)


def _table(at):
    return open_tab(at, "race_tab", "Table").dataframe[0].value.set_index("Optimizer")


def _spec(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _changed(at, widget, value):
    widget.set_value(value).run()
    assert not at.exception, (widget.key, value, at.exception)
    return at


def test_default_race_on_the_bowl_converges(app):
    table = _table(app)
    assert list(table.index) == ["SGD", "Momentum (PyTorch)", "Nesterov", "RMSProp", "Adam"]
    assert (table["Diverged"] == "no").all()
    assert float(table.loc["Nesterov", "Final loss"]) < 1e-6


def test_every_control_of_the_page(app):
    """Each control changed once, in the view it belongs to; the race view draws only the race."""
    assert len(app.get("plotly_chart")) == 1 and not app.dataframe  # only the open tab runs
    _changed(app, app.slider(key="race_rotation"), 60)
    _changed(app, app.select_slider(key="race_kappa"), 100)
    _changed(app, app.number_input(key="start_x_Quadratic bowl"), 10.0)
    assert "outside the plotted range" in app.warning[0].value
    _changed(app, app.number_input(key="start_y_Quadratic bowl"), -1.0)
    _changed(app, app.slider(key="race_steps"), 1000)
    _changed(app, app.button_group(key="race_optimizers"), ALL)
    for schedule, field, value in (("step decay", "every", 20), ("1/t", "tau", 5.0), ("cosine", "total", 90)):
        _changed(app, app.selectbox(key="race_schedule"), schedule)
        _changed(app, app.number_input(key=f"sched_{field}"), value)
    _changed(app, app.slider(key="race_noise"), 10.0)
    _changed(app, app.select_slider(key="race_batch"), 64)
    _changed(app, app.number_input(key="hp_Momentum (course)_lam"), 0.5)
    _changed(app, app.number_input(key="hp_RMSProp_alpha"), 0.9)
    _changed(app, app.number_input(key="hp_AdaGrad_eps"), 1e-6)
    race = _spec(app)
    assert len(race["frames"]) <= REPLAY_FRAMES and {t.get("name") for t in race["data"]} >= set(ALL)

    open_tab(app, "race_tab", "3D")
    assert not app.exception and _spec(app)["data"][0]["type"] == "surface"
    open_tab(app, "race_tab", "Loss")
    assert _spec(app)["layout"]["yaxis"]["type"] == "log"
    _changed(app, app.toggle(key="race_log"), False)
    assert _spec(app)["layout"]["yaxis"]["type"] == "linear"
    table = _table(app)
    assert len(table) == 9
    _changed(app, app.number_input(key="race_tolerance"), 1e-8)
    assert "Steps to f − f* ≤ 1e-08" in app.dataframe[0].value.columns
    # The course's momentum at λ = 0.5 now differs from PyTorch's at μ = 0.9: the table follows the inputs.
    table = app.dataframe[0].value.set_index("Optimizer")
    assert table.loc["Momentum (course)", "Final loss"] != table.loc["Momentum (PyTorch)", "Final loss"]

    open_tab(app, "race_tab", "Race")
    for surface in SURFACES:
        _changed(app, app.selectbox(key="race_surface"), surface)
        assert len(_spec(app)["frames"]) <= REPLAY_FRAMES
    _changed(app, app.button_group(key="race_optimizers"), [])
    assert "at least one optimizer" in app.info[0].value


def test_an_enormous_learning_rate_is_marked_diverged_and_zero_stays_put(app):
    app.number_input(key="lr_Quadratic bowl_SGD").set_value(5.0).run()
    assert not app.exception
    assert _table(app).loc["SGD", "Diverged"].startswith("at step")
    app.number_input(key="lr_Quadratic bowl_Adam").set_value(0.0).run()
    assert "never moves" in app.info[0].value
    app.number_input(key="lr_Quadratic bowl_Adam").set_value(-0.1).run()
    assert not app.exception and "climbs uphill" in app.warning[0].value


def test_adams_inputs_give_torch_adams_race(app):
    """β₁, β₂, ε, weight decay and the rate typed into Adam's row: the final loss is torch.optim.Adam's."""
    app.selectbox(key="race_surface").set_value("Rosenbrock").run()
    settings = {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05}
    for name, value in settings.items():
        app.number_input(key=f"hp_Adam_{name}").set_value(value).run()
    app.number_input(key="lr_Rosenbrock_Adam").set_value(0.01).run()
    shown = float(_table(app).loc["Adam", "Final loss"])

    surface = SURFACES["Rosenbrock"]
    parameter = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([parameter], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
    for _ in range(200):
        parameter.grad = torch.tensor(surface.gradient(*parameter.detach().tolist()), dtype=torch.float64)
        adam.step()
    expected = surface.value(*parameter.detach().tolist())
    assert shown == pytest.approx(expected, rel=5e-3)  # the table shows three significant digits
    assert default_racers(surface)["Adam"].lr != 0.01  # the input, not the default, made the race


def test_the_notebook_code_draws_the_race_on_screen(app):
    """The expander's Python, run as a notebook runs it, makes the very figure the page shows:
    the surface, the start, the schedule, the noise and a changed hyperparameter included."""
    _changed(app, app.select_slider(key="race_kappa"), 50)
    _changed(app, app.slider(key="race_steps"), 120)
    _changed(app, app.button_group(key="race_optimizers"), ALL)
    _changed(app, app.selectbox(key="race_schedule"), "cosine")
    _changed(app, app.number_input(key="hp_Momentum (course)_lam"), 0.5)
    _changed(app, app.slider(key="race_noise"), 6.0)
    [code] = [c.value for c in app.code]
    figure, cell = notebook_cell(code)
    assert json.loads(figure.to_json()) == _spec(app)
    assert "lam=0.5" in code and "Cosine(" in code and "condition=50.0" in code
