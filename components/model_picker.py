"""Choosing a registry model on a page; the choice is remembered across pages."""

from __future__ import annotations

import streamlit as st

import pretrained
from components.remembered import bind, note_choice, on_change
from components.weights_download import shown_model


def model_picker(families: tuple[str, ...], default: str, label: str = "Model",
                 value_key: str | None = None) -> pretrained.LoadedModel:
    """A selectbox over some families, the loaded model, and its banner and
    download button when its weights are missing. Pickers with one `value_key` share the
    choice (by default, those over the same families)."""
    specs = {s.name: s for f in families for s in pretrained.list_specs(f)}
    value_key = _value_key(families, value_key)
    widget_key = f"{value_key}_widget"
    bind(value_key, [widget_key], default, valid=list(specs))
    name = st.selectbox(
        label, list(specs), key=widget_key,
        format_func=lambda n: f"{specs[n].title} · {pretrained.weights_status(specs[n]).value}",
        on_change=on_change(value_key, widget_key),
    )
    loaded = shown_model(name)
    return loaded


def choose_next(families: tuple[str, ...], name: str, value_key: str | None = None) -> None:
    """From the next run, the pickers over `families` show `name` (for a widget's callback)."""
    value_key = _value_key(families, value_key)
    note_choice(value_key, f"{value_key}_widget", name)


def _value_key(families: tuple[str, ...], value_key: str | None) -> str:
    return value_key or "chosen_" + "_".join(families)
