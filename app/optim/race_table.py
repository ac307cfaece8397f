"""The optimizer race's table: every column of one type, numbers written for people."""

from __future__ import annotations

import math

import pandas as pd

from app.optim.surfaces import Surface
from app.optim.trajectories import Trajectory


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, in scientific notation when tiny or huge ("4e-19",
    "0.0123", "1.23e+06"), the way Python's general format writes it; "—" for NaN."""
    return "—" if math.isnan(value) else format(value, f".{digits}g")


def race_table(trajectories: list[Trajectory], surface: Surface, tolerance: float) -> pd.DataFrame:
    """One row per racer, each column of one type (Arrow, and so Streamlit, refuses mixed columns):
    the final loss as text to three significant digits, the steps as nullable integers (empty: never)."""
    steps = [t.steps_to(tolerance, surface.minimum_value) for t in trajectories]
    return pd.DataFrame({
        "Optimizer": [t.name for t in trajectories],
        "Final loss": [significant(float(t.losses[-1]) if len(t.losses) else math.nan) for t in trajectories],
        steps_column(tolerance): pd.array(steps, dtype="Int64"),
        "Diverged": ["no" if t.diverged_at is None else f"at step {t.diverged_at}" for t in trajectories],
    })


def steps_column(tolerance: float) -> str:
    return f"Steps to f − f* ≤ {significant(tolerance)}"
