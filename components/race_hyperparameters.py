"""The optimizer race's hyperparameter inputs: one row per optimizer under its name, short labels
with the meaning in a tooltip, in columns wide enough for the widest row (Adam's rate and four settings)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app.optim.race import Racer
from app.optim.surfaces import Surface

# field name -> (label, tooltip)
SETTINGS = {
    "lam": ("λ (average)", "The course's momentum: v is a running average of −g, λ the weight of the past."),
    "momentum": ("momentum μ", "PyTorch's momentum: b ← μb + g; a larger μ remembers more of the past."),
    "alpha": ("α (g² decay)", "RMSProp keeps a running average of g² with weight α on the past."),
    "eps": ("ε", "Added to √(average of g²), so the step stays finite where the gradient vanishes."),
    "beta1": ("β₁", "Weight of the past in Adam's running average of g (its momentum)."),
    "beta2": ("β₂", "Weight of the past in Adam's running average of g²."),
    "weight_decay": ("weight decay",
                     "Pulls θ towards 0: Adam adds λθ to the gradient, AdamW shrinks θ directly."),
}
# The rate and up to four settings (Adam's): the same five columns in every row, so that rows line
# up, a lone input does not stretch across the page, and each is wide enough for its value beside
# the − and + buttons (with the name in a sixth column, 0.999 showed as "0.99" at 1280 px).
_COLUMNS = 5


def _tunable(racer: Racer) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(racer.optimizer) if isinstance(f.default, float)]


def hyperparameter_rows(surface: Surface, racers: list[Racer]) -> list[Racer]:
    """An input row per racer; returns the racers with the values entered. The rate's key names
    the surface (each surface has its own good rate); the other settings are kept across surfaces."""
    tuned = []
    for racer in racers:
        st.markdown(f"**{racer.name}**")
        inputs = st.columns(_COLUMNS)
        lr = inputs[0].number_input("learning rate η", value=float(racer.lr), format="%.4g",
                                    step=racer.lr / 2 or 0.01, key=f"lr_{surface.name}_{racer.name}")
        values = {}
        for column, field in zip(inputs[1:], _tunable(racer)):
            label, tooltip = SETTINGS[field.name]
            values[field.name] = column.number_input(label, value=float(getattr(racer.optimizer, field.name)),
                                                     format="%.4g", help=tooltip,
                                                     key=f"hp_{racer.name}_{field.name}")
        optimizer = dataclasses.replace(racer.optimizer, **values)
        tuned.append(dataclasses.replace(racer, lr=lr, optimizer=optimizer))
    return tuned
