"""Choosing a registry model on a page; the choice is remembered across pages."""

from __future__ import annotations

import streamlit as st

import pretrained
from components.remembered import bind, on_change
from components.weights_download import shown_model


def model_picker(families: tuple[str, ...], default: str, label: str = "Model") -> pretrained.LoadedModel:
    """A selectbox over some families, the loaded model, and its banner and
    download button when its weights are missing."""
    specs = {s.name: s for f in families for s in pretrained.list_specs(f)}
    value_key = "chosen_" + "_".join(families)
    widget_key = f"{value_key}_widget"
    bind(value_key, [widget_key], default, valid=list(specs))
    name = st.selectbox(
        label, list(specs), key=widget_key,
        format_func=lambda n: f"{specs[n].title} · {pretrained.weights_status(specs[n]).value}",
        on_change=on_change(value_key, widget_key),
    )
    loaded = shown_model(name)
    return loaded
