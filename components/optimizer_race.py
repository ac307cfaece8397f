"""The optimizer race's results, cached server-wide by their settings: a class on the default
settings, a student going back to a value or to a tab, get the same race and figures at once."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from app.optim.figures import loss_figure, race_figure, surface_3d_figure
from app.optim.race import RaceSettings
from app.optim.trajectories import Trajectory
from components.server_state import RACE_FIGURES, RACES


def trajectories(settings: RaceSettings) -> list[Trajectory]:
    return RACES.get(settings, settings.run)


def _figure(key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    return RACE_FIGURES.get(key, build)


def race_chart(settings: RaceSettings) -> go.Figure:
    return _figure(("race", settings),
                   lambda: race_figure(settings.surface, trajectories(settings), settings.start))


def surface_chart(settings: RaceSettings) -> go.Figure:
    return _figure(("3d", settings), lambda: surface_3d_figure(settings.surface, trajectories(settings)))


def loss_chart(settings: RaceSettings, log_scale: bool) -> go.Figure:
    return _figure(("loss", settings, log_scale),
                   lambda: loss_figure(trajectories(settings), settings.surface, log_scale))
