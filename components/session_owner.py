"""The owner of a browser session's background work (training runs, landscape grids).

It lives in the session's state and knows whether the session's browser is still
connected, so that work started by a closed tab stops after a grace period instead
of running on until the server forgets the session (server.disconnectedSessionTTL).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app.serving import settings
from app.serving.run_owner import RunOwner

_KEY = "background_work_owner"
GRACE_S = settings.DISCONNECT_GRACE_S.read()


def session_owner() -> RunOwner:
    owner = st.session_state.get(_KEY)
    if owner is None:
        owner = st.session_state[_KEY] = RunOwner(_connection_check(), GRACE_S)
    return owner


def session_number() -> int | None:
    """This session's number in the server's queue; None before it started background work."""
    owner = st.session_state.get(_KEY)
    return owner.number if owner is not None else None


def _connection_check() -> Callable[[], bool] | None:
    context = get_script_run_ctx()
    if context is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), context.session_id
    if not server.is_active_session(session_id):  # a script run without a browser (AppTest)
        return None
    return lambda: server.is_active_session(session_id)
