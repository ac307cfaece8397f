"""The layer picker and the depth slider: two views of one choice."""

from __future__ import annotations

import streamlit as st

from app.cnn.capture import LayerInfo
from components.remembered import bind, on_change


def layer_picker(layers: tuple[LayerInfo, ...], model_name: str) -> LayerInfo:
    names = [info.name for info in layers]
    by_name = {info.name: info for info in layers}
    value_key = f"layer_{model_name}"
    select_key, slider_key = f"{value_key}_select", f"{value_key}_slider"
    bind(value_key, [select_key, slider_key], default=names[len(names) // 3], valid=names)
    left, right = st.columns([2, 3])
    left.selectbox("Layer", names, key=select_key, format_func=lambda n: by_name[n].describe(),
                   on_change=on_change(value_key, select_key))
    right.select_slider("Depth: move through the network", names, key=slider_key,
                        on_change=on_change(value_key, slider_key))
    return by_name[st.session_state[value_key]]
