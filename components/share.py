"""Sharing the view on screen: a read-only link to a copy of this workspace as it is now
(page, image, choices, finished runs, grids). Whoever opens it sees the same; their first
change makes their own copy, so nothing they do reaches the sender. And the settings as a JSON
file, for a lesson plan or a bug report."""

from __future__ import annotations

import json

import streamlit as st

from components.figure_export import page_slug
from components.server_state import STORE
from components.workspace import current_choices, is_shared_view, save_choices, workspace_id

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
    sidebar.download_button("Download the settings (JSON)", json.dumps(current_choices(), indent=2, ensure_ascii=False),
                            file_name=f"vision-explorer-{page_slug()}-settings.json", mime="application/json",
                            icon=":material/download:", on_click="ignore", key="settings_json")
