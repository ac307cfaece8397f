"""The owner of a session's background work (training runs, landscape grids, deferred
computations): its workspace's, shared by every tab open on that workspace.

Work stops when no session of the workspace has stayed connected for the grace period
(app.serving.workspace_work), so that work started by a closed tab does not run on for
nobody, while a reload (a new session on the same workspace) keeps it.
"""

from __future__ import annotations

import streamlit as st

from app.serving.run_owner import RunOwner
from components.server_state import WORKSPACE_WORK
from components.workspace import workspace_id

_KEY = "_background_work_owner"


def session_owner() -> RunOwner:
    owner = WORKSPACE_WORK.owner(workspace_id())
    st.session_state[_KEY] = owner  # held by the session as well, while it lives
    return owner


def session_number() -> int | None:
    """This session's number in the server's queue; None before it started background work."""
    owner = st.session_state.get(_KEY)
    return owner.number if owner is not None else None
