"""Widget values that survive a visit to another page.

Streamlit forgets a page widget's value once another page is shown. Each
widget here is backed by a plain session key it is restored from; several
widgets can share one value (a selectbox and a slider over the same layers).

When the slider moves, the server sets the selectbox to match; a browser still
sending reruns (a burst of key presses) reports the selectbox's old value until
that update arrives, and Streamlit calls the selectbox's callback for it. Taken
as a choice, that echo sent both widgets back to the old layer, the burst
started ever more reruns, and the session ended with "Cached ForwardMsg MISS"
(issue 13, fault 5.4). So callbacks only note what changed, and when two widgets
of a group change in one rerun, the one the server had just set is the echo.
A widget is written only where it differs (or the page is new to it): any write
sends it back to the browser with its value set, dropping what the student did
since the run began.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def bind(value_key: str, widget_keys: Sequence[str], default, valid: Sequence | None = None) -> None:
    """Before drawing the widgets: take the student's change, then set every widget that
    shows something else (or is new on this page) to the shared value in `value_key`."""
    changed: dict = st.session_state.pop(_changed_key(value_key), {})
    set_by_server: set = st.session_state.setdefault(f"{value_key}__set_by_server", set())
    choices = [key for key in changed if key not in set_by_server] or list(changed)
    value = changed[choices[-1]] if choices else st.session_state.get(value_key, default)
    if valid is not None and value not in valid:
        # Shown as the default here; a choice only another page offers (Feature maps' MLP-Mixer,
        # which Attributions does not list) stays remembered for that page.
        value = default
    else:
        st.session_state[value_key] = value
    # A widget with the same key on another page is a new widget that starts from its own
    # default unless it is written; so is a widget of this page after a visit to another one
    # (its key may still hold the value, restored from the workspace, while the browser shows
    # the default: measured, the depth slider showed bn1 while the page drew blocks.2).
    page = get_script_run_ctx().page_script_hash
    new_page = (st.session_state.get(f"{value_key}__page") != page
                or st.session_state.get(_LAST_PAGE, page) != page)
    st.session_state[f"{value_key}__page"] = page
    for key in widget_keys:
        if not new_page and key in st.session_state and st.session_state[key] == value:
            set_by_server.discard(key)  # the browser shows the shared value
        else:
            st.session_state[key] = value
            set_by_server.add(key)


def note_page_drawn() -> None:
    """At the end of every run (the entrypoint's): which page it drew, for `bind`'s next run."""
    context = get_script_run_ctx()
    if context is not None:  # None when the script is run bare (no server, no AppTest)
        st.session_state[_LAST_PAGE] = context.page_script_hash


def on_change(value_key: str, source_key: str):
    """A callback that notes the widget's new value for the next `bind`."""

    def note() -> None:
        note_choice(value_key, source_key, st.session_state[source_key])

    return note


def note_choice(value_key: str, source_key: str, value) -> None:
    """Take `value` at the next `bind` as if the student had set widget `source_key` to it."""
    st.session_state.setdefault(_changed_key(value_key), {})[source_key] = value


_LAST_PAGE = "_page_of_last_run"


def _changed_key(value_key: str) -> str:
    return f"{value_key}__changed"
