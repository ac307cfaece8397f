"""Widget values that survive a visit to another page.

Streamlit forgets a page widget's value once another page is shown. Each
widget here is backed by a plain session key it is restored from; several
widgets can share one value (a selectbox and a slider over the same layers).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st


def bind(value_key: str, widget_keys: Sequence[str], default, valid: Sequence | None = None) -> None:
    """Before drawing the widgets: restore each one from `value_key` (or `default`)."""
    value = st.session_state.get(value_key, default)
    if valid is not None and value not in valid:
        value = default
    st.session_state[value_key] = value
    # Always: a widget with the same key on another page is a new widget that
    # would otherwise start from its own default.
    for key in widget_keys:
        st.session_state[key] = value


def on_change(value_key: str, source_key: str, widget_keys: Sequence[str]):
    """A callback that copies the changed widget's value to the others."""

    def copy() -> None:
        value = st.session_state[source_key]
        st.session_state[value_key] = value
        for key in widget_keys:
            st.session_state[key] = value

    return copy
