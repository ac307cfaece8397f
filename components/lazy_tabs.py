"""Tabs that run only the open one, without forgetting what was set in the others.

A page runs only its open tab (`on_change="rerun"`): hidden tabs' figures cost the server and
every browser a redraw on each rerun (measured with twenty students, bench/load.py). But
Streamlit forgets a widget's value after a run that does not draw it, so a layer chosen in one
tab was back at its default after a visit to the next. A value written through the Session
State API is kept through such runs; it is written back while its tab is closed and in the run
that opens it (so that the browser draws it with that value), not while it is on screen: a
write to a widget on screen sends its value to the browser and drops a change the student is
making (components/remembered.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st


def lazy_tabs(labels: Sequence[str], key: str, kept: dict[str, tuple[str, ...]]) -> Sequence:
    """st.tabs keyed `key` that run only the open tab; `kept` maps a tab's label to the key
    prefixes of the widgets inside it, whose values are kept while it is closed."""
    opened = st.session_state.get(key, labels[0])
    last = st.session_state.get(f"{key}__drawn")  # the tab whose widgets the browser shows
    st.session_state[f"{key}__drawn"] = opened
    for label, prefixes in kept.items():
        # Also in the run that opens a tab: a widget drawn again starts in the browser from its
        # default, unless the run that draws it wrote its value (measured: the radio showed
        # "random" while the server kept "PCA").
        if label != opened or label != last:
            for name in [k for k in st.session_state.keys() if isinstance(k, str) and k.startswith(prefixes)]:
                st.session_state[name] = st.session_state[name]
    return st.tabs(labels, key=key, on_change="rerun")


def draw_open(tabs: Sequence, draws: Sequence[Callable[[], None]]) -> None:
    """Runs the open tab's function inside it, and no other: lazy tabs whose contents are each
    one function."""
    for tab, draw in zip(tabs, draws, strict=True):
        with tab:
            if tab.open:
                draw()
