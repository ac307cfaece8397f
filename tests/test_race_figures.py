"""The optimizer race's figures and table: Arrow-safe columns, numbers to three significant digits,
a log axis by decades, legends away from the modebar, and a replay of bounded size that shows
each racer where its trajectory is."""

import dataclasses
import math

import numpy as np
import plotly.io
import pyarrow as pa
import pytest

from app.figures.palette import PALETTE
from app.optim.figures import loss_figure, race_figure, surface_3d_figure
from app.optim.optimizers import Adam, AdamW
from app.optim.race import RaceSettings, default_racers, race
from app.optim.race_table import race_table, significant, steps_column
from app.optim.replay import DECIMALS, REPLAY_FRAMES, replay_steps
from app.optim.surfaces import SURFACES
from app.optim.trajectories import GradientNoise
from components.optimizer_race import trajectories

BOWL = SURFACES["Quadratic bowl"]


def nine_racers(surface=BOWL, steps=200):
    return race(surface, list(default_racers(surface).values()), surface.start, steps,
                noise=GradientNoise(2.0, 8, seed=0))


def test_the_table_converts_to_arrow_with_reached_and_never_reached_steps():
    table = race_table(nine_racers(), BOWL, 1e-3)
    steps = table[steps_column(1e-3)]
    assert steps.isna().any() and steps.notna().any()  # both kinds in one column, as in the report
    arrow = pa.Table.from_pandas(table)  # what Streamlit does; raised ArrowTypeError on mixed columns
    assert arrow.schema.field(steps_column(1e-3)).type == pa.int64()
    assert pa.types.is_string(arrow.schema.field("Final loss").type) or pa.types.is_large_string(
        arrow.schema.field("Final loss").type)
    reached = [t.steps_to(1e-3, 0.0) for t in nine_racers()]
    assert arrow.column(steps_column(1e-3)).to_pylist() == reached


@pytest.mark.parametrize("value", [4e-19, 1.2345e-5, 0.000123456, 0.0123, 0.5, 1.0, 12.5, 1234.5, 2.5e6, 0.0,
                                   -3.14159e-7, math.inf])
def test_numbers_are_written_to_three_significant_digits(value):
    written = significant(value)
    assert written == format(value, ".3g")
    assert len(written) <= 9 and "0000" not in written  # never "0000000000000000004"
    if math.isfinite(value) and value:
        assert float(written) == pytest.approx(value, rel=5e-3)
    assert significant(4e-19) == "4e-19" and significant(math.nan) == "—"


def test_the_log_loss_axis_is_labelled_in_e_notation_by_decades():
    trajectories = nine_racers()
    axis = loss_figure(trajectories, BOWL, log_scale=True).layout.yaxis
    assert axis.type == "log" and axis.exponentformat == "e" and axis.showexponent == "all"  # no 1µ, 1n, 1p
    shown = np.concatenate([np.maximum(t.losses, 1e-16) for t in trajectories])
    decades = math.log10(shown.max() / shown.min())
    assert isinstance(axis.dtick, int) and axis.dtick >= 1  # whole decades between labels
    assert decades / axis.dtick <= 9  # few enough labels to read on a projector
    assert loss_figure(trajectories, BOWL, log_scale=False).layout.yaxis.dtick is None


@pytest.mark.parametrize("figure", ["race", "3d", "loss"])
def test_legends_sit_at_the_bottom_away_from_the_modebar(figure):
    trajectories = nine_racers()
    made = {"race": lambda: race_figure(BOWL, trajectories, BOWL.start),
            "3d": lambda: surface_3d_figure(BOWL, trajectories),
            "loss": lambda: loss_figure(trajectories, BOWL, True)}[figure]()
    legend = made.layout.legend
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0
    assert legend.yanchor == "bottom" and made.layout.margin.b >= 70


def test_replay_frames_are_bounded_and_place_each_racer_at_its_step():
    trajectories = nine_racers(steps=1000)
    figure = race_figure(BOWL, trajectories, BOWL.start)
    shown = [int(frame.name) for frame in figure.frames]
    assert len(shown) <= REPLAY_FRAMES and shown[0] == 0 and shown[-1] == 1000
    assert len(plotly.io.to_json(figure)) < 600_000  # was 1.08 MB with 60 frames of 20 traces
    for frame in figure.frames:
        assert len(frame.data) == 5  # however many racers
        k = int(frame.name)
        heads = np.column_stack([frame.data[-1].x, frame.data[-1].y])
        expected = np.array([t.points[min(k, len(t.points) - 1)] for t in trajectories])
        np.testing.assert_allclose(heads, expected, rtol=0, atol=0.5 * 10 ** -DECIMALS)  # rounded on the wire
    assert replay_steps(0) == [0] and replay_steps(10) == list(range(11))


def test_each_racer_keeps_its_palette_colour_in_the_replay():
    """The frames colour markers by racer index through the layout's coloraxis: index i must land
    exactly on PALETTE[i] (plotly maps c to (c − cmin)/(cmax − cmin) on the scale)."""
    figure = race_figure(BOWL, nine_racers(), BOWL.start)
    axis = figure.layout.coloraxis
    stops = {round(position, 9): color for position, color in axis.colorscale}
    for index, color in enumerate(PALETTE):
        assert stops[round((index - axis.cmin) / (axis.cmax - axis.cmin), 9)] == color
    drawn, moved = figure.data[-1], figure.frames[0].data[-1]  # a frame carries only what moves
    assert list(moved.marker.color) == list(range(9)) and drawn.marker.coloraxis == "coloraxis"
    assert list(drawn.marker.color) == list(range(9))


def test_momentum_in_the_course_and_in_pytorch_race_identically():
    """The defaults set η′ = (1 − λ)η and μ = λ, where the two forms take the same steps."""
    racers = default_racers(BOWL)
    course, pytorch = race(BOWL, [racers["Momentum (course)"], racers["Momentum (PyTorch)"]], BOWL.start, 200)
    np.testing.assert_allclose(course.points, pytorch.points, rtol=1e-9, atol=1e-12)


def test_cached_races_tell_settings_apart():
    """Adam(λ) and AdamW(λ) have equal fields but differ (L2 against decoupled decay): a cache keyed
    by the settings must keep them apart, and hand back the same race for equal settings."""
    adam = default_racers(BOWL)["Adam"]
    l2, decoupled = (RaceSettings(BOWL, (dataclasses.replace(adam, optimizer=rule(weight_decay=0.5)),),
                                  BOWL.start, 100) for rule in (Adam, AdamW))
    for settings in (l2, decoupled):
        np.testing.assert_array_equal(trajectories(settings)[0].points, settings.run()[0].points)
    assert not np.allclose(trajectories(l2)[0].points, trajectories(decoupled)[0].points)
    assert trajectories(l2) is trajectories(dataclasses.replace(l2))
