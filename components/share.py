"""Sharing the view on screen: a read-only link to a copy of this workspace as it is now
(page, image, choices, finished runs, grids). Whoever opens it sees the same; their first
change makes their own copy, so nothing they do reaches the sender."""

from __future__ import annotations

import streamlit as st

from components.server_state import STORE
from components.workspace import is_shared_view, save_choices, workspace_id

_LINK = "_shared_link"


def share_panel() -> None:
    """In the sidebar: the button that makes a link, and the link (with Streamlit's copy button)."""
    sidebar = st.sidebar
    if is_shared_view():
        sidebar.info("A shared view: what you see is someone's workspace as they shared it. Your first change "
                     "makes it your own copy; theirs never changes.", icon=":material/visibility:")
    if sidebar.button("Share this view", icon=":material/share:", key="share_view",
                      help="A read-only link to this page with this image, these settings and the finished runs"):
        save_choices()  # what this run has set so far is in the copy too
        snapshot = STORE.copy_workspace(workspace_id(), read_only=True)
        st.session_state[_LINK] = f"{(st.context.url or '').rstrip('/')}?w={snapshot}"
    if link := st.session_state.get(_LINK):
        sidebar.caption("Anyone with this link sees this view as it is now (copy it with the button on its right):")
        sidebar.code(link, language=None, wrap_lines=True)
