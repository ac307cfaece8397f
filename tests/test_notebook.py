"""Settings written as the Python that makes them: run, that Python gives back equal settings."""

import numpy as np
import pytest

from app.notebook import constructor, snippet
from app.optim.race import RaceSettings, default_racers
from app.optim.schedules import StepDecay
from app.optim.surfaces import SURFACES
from app.optim.trajectories import GradientNoise


def _evaluated(value):
    code, imports = constructor(value)
    namespace = {}
    exec("\n".join(sorted(imports)), namespace)  # noqa: S102
    return eval(code, namespace)  # noqa: S307


@pytest.mark.parametrize("surface", list(SURFACES))
def test_race_settings_come_back_equal(surface):
    chosen = SURFACES[surface]
    settings = RaceSettings(chosen, tuple(default_racers(chosen).values()), (0.25, -1.0), 50, StepDecay(10, 0.5),
                            GradientNoise(2.0, 8, seed=0))
    assert _evaluated(settings) == settings


@pytest.mark.parametrize("value", [1, 2.5, -0.0, float("inf"), float("-inf"), "a 'quoted' word", None, True,
                                   (1,), (), [1, (2, 3)], {"a": (1, 2)}])
def test_plain_values_come_back_equal(value):
    assert _evaluated(value) == value and type(_evaluated(value)) is type(value)


def test_a_nan_comes_back_a_nan_and_an_array_is_refused():
    assert np.isnan(_evaluated(float("nan")))
    with pytest.raises(TypeError):
        constructor(np.zeros(3))


def test_a_snippet_ends_on_the_figure_call():
    code = snippet((1, 2), "pair", "sum(pair)", [])
    namespace = {}
    *body, last = code.strip().splitlines()
    exec("\n".join(body), namespace)  # noqa: S102
    assert eval(last, namespace) == 3  # noqa: S307
