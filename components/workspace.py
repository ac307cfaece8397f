"""The browser's workspace: which one this session works in, and its choices kept on disk.

The id travels in the URL (`?w=…`), so a reload, a bookmarked or pasted link and the back
button all come back to it. Streamlit drops the query string when the sidebar opens another
page, so every run puts it back. A URL without one (an address typed by hand, a new tab) falls
back to this browser's cookie, set the first time; only a browser with neither starts afresh.

Choices are the page's widget values and the few plain session values pages keep (a layer
shared by two widgets, the next run's number): everything in the session state that is a
plain value (app.workspace.values), except keys starting with "_" or holding "__" (a page's
bookkeeping) and widgets Streamlit does not let a script set (buttons, uploads, a chart's
selection). They are saved at the end of every run, only those that changed, and put back
before a page draws a widget whose value the session no longer holds: after a reload, and
when the student comes back to a page Streamlit had forgotten.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit import runtime
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.state import get_session_state

from app.workspace import values
from app.workspace.blobs import BlobMissing
from app.workspace.ids import is_workspace_id
from app.workspace.store import ReadOnlyWorkspace, StoreFull, UnknownWorkspace
from components.server_state import KEEP_DAYS, STORE, WORKSPACE_WORK

PARAMETER = "w"
COOKIE = "vision_explorer_workspace"
_ID = "_workspace"
_SAVED = "_workspace_saved"  # key -> the JSON text the store holds for it
T = TypeVar("T")
_CHOICE = "choice:"  # prefix of widget values in the store, apart from the image and runs
_SHARED = "_workspace_read_only"  # (id, whether it is a shared view)
_PENDING = "_workspace_restored_pending"  # keys put back whose widget has not taken them yet

# Widgets whose value a script may set (Streamlit's own names for how each widget's value
# travels); buttons, uploads, chat input and a chart's selection may not be set.
_SETTABLE = {"bool_value", "double_value", "int_value", "string_value", "double_array_value",
             "int_array_value", "string_array_value"}


def workspace_id() -> str:
    """This session's workspace (found or made on its first run)."""
    return st.session_state[_ID]


def open_workspace() -> None:
    """Before any widget: settles which workspace this session works in, puts its choices
    back, and keeps the id in the URL. Stops the page with a plain message when the URL names
    a workspace that does not exist (any more)."""
    asked = st.query_params.get(PARAMETER)
    current = st.session_state.get(_ID)
    if asked is not None and asked != current:
        try:
            STORE.open_workspace(asked)  # also refuses anything that is not an id's form
        except UnknownWorkspace:
            _unknown_link()
        _adopt(asked)
    elif current is None:
        remembered = st.context.cookies.get(COOKIE)
        try:
            if not is_workspace_id(remembered):
                raise UnknownWorkspace("no workspace remembered")
            STORE.open_workspace(remembered)
            _adopt(remembered)
        except UnknownWorkspace:
            _adopt(STORE.create_workspace())
    if is_shared_view() and _changed_choices():
        writable_workspace_id()  # the student's change arrived with this run: theirs from now on
    if st.query_params.get(PARAMETER) != workspace_id():
        st.query_params[PARAMETER] = workspace_id()
    _restore_missing_choices()
    WORKSPACE_WORK.attach(workspace_id(), _browser_session())


def writable_workspace_id() -> str:
    """The workspace to write to: this one, or, in a shared view (read-only), the receiver's
    own copy of it, made now: what they change never reaches the sender's workspace."""
    workspace = workspace_id()
    if not is_shared_view():
        return workspace
    fork = STORE.copy_workspace(workspace, read_only=False)
    st.session_state[_ID] = fork  # the session's values stay: the copy holds the same
    st.query_params[PARAMETER] = fork
    WORKSPACE_WORK.attach(fork, _browser_session())
    st.toast("This shared view is now your own copy: your changes stay in it.", icon=":material/fork_right:")
    return fork


def is_shared_view() -> bool:
    """Asked four times a run (open, sidebar, cookie, save); a workspace never changes between
    read-only and writable (a fork is another id), so the store is asked once per id."""
    workspace = workspace_id()
    known = st.session_state.get(_SHARED)
    if known is None or known[0] != workspace:
        known = st.session_state[_SHARED] = (workspace, STORE.is_read_only(workspace))
    return known[1]


def save_choices() -> None:
    """After a run: writes the choices that changed since the store last held them. In a
    shared view a widget seen for the first time shows its default, not a change: it is noted,
    not written; a real change makes the receiver's own copy first."""
    if _ID not in st.session_state:
        return
    changed = _changed_choices()
    if changed:
        try:
            STORE.save_values(writable_workspace_id(), {_CHOICE + k: t for k, t in changed.items()})
        except (StoreFull, ReadOnlyWorkspace, UnknownWorkspace):
            return  # the settings are tiny; the page that filled the store says so
        st.session_state[_SAVED].update(changed)


def current_choices() -> dict:
    """Every choice this session holds now (widget values and the pages' plain values)."""
    return dict(sorted(_choices().items()))


def _changed_choices() -> dict[str, str]:
    """Choices (as JSON) that differ from what the store holds."""
    saved = st.session_state[_SAVED]
    shared = is_shared_view()
    changed = {}
    for key, value in _choices().items():
        text = values.encode(value)
        if shared and key not in saved:
            saved[key] = text
        elif saved.get(key) != text:
            changed[key] = text
    return changed


def keep_result(name: str, data: bytes, what: str, **fields) -> None:
    """Keeps a computed result in the workspace (its bytes as a blob, a pointer with `fields`
    under `name`); past a cap, says that `what` is shown but not kept."""
    workspace = writable_workspace_id()
    try:
        digest = STORE.put_blob(workspace, data)
    except StoreFull as full:
        st.warning(f"{what} is shown but not kept for your next visit: {full}.", icon=":material/cloud_off:")
        return
    STORE.save_values(workspace, {name: json.dumps({"sha256": digest, **fields})})


def keep_source(name: str, stored: dict, data: bytes | None) -> str | None:
    """Makes a picture or clip the workspace's under `name`: a sample by the `stored` fields, an
    upload's `data` as a blob (its digest added to them); the one kept before is released. Past
    the workspace's cap, nothing is kept and the reason is returned."""
    workspace = writable_workspace_id()
    before = json.loads(STORE.values(workspace).get(name, "{}"))
    try:
        if data is not None:
            stored = {**stored, "sha256": STORE.put_blob(workspace, data)}
    except StoreFull as full:
        return str(full)
    STORE.save_values(workspace, {name: json.dumps(stored)})
    if before.get("sha256") and before.get("sha256") != stored.get("sha256"):
        STORE.release_blob(workspace, before["sha256"])
    return None


def kept_result(name: str, read: Callable[[bytes, dict], T], what: str, again: str) -> T | None:
    """The result kept under `name`, decoded by `read(bytes, fields)`; None when there is none,
    or (saying what to do `again`) when its file or pointer no longer reads."""
    text = STORE.values(workspace_id()).get(name)
    if text is None:
        return None
    try:
        fields = json.loads(text)
        return read(STORE.blob(fields["sha256"]), fields)
    except (BlobMissing, ValueError, KeyError, TypeError, OSError) as problem:
        st.warning(f"{what} kept in this workspace could not be read back ({problem}): {again}.",
                   icon=":material/broken_image:")
        return None


def remember_in_browser() -> None:
    """Sets this browser's cookie to the workspace (a URL without an id comes back to it); a
    shared view someone sent is not this browser's own workspace and is not remembered."""
    if is_shared_view():
        return
    days = int(KEEP_DAYS * 86400)
    st.html(f"<script>document.cookie = '{COOKIE}={workspace_id()}; path=/; max-age={days}; SameSite=Lax';</script>",
            unsafe_allow_javascript=True)


def _adopt(workspace: str) -> None:
    """This session now works in `workspace`: what it held of another workspace goes."""
    if _ID in st.session_state:
        for key in [k for k in st.session_state.keys() if _choice_key(k)]:
            del st.session_state[key]
    st.session_state[_ID] = workspace
    stored, damaged = {}, []
    for key, text in STORE.values(workspace).items():
        if key.startswith(_CHOICE):
            try:
                values.decode(text)
                stored[key.removeprefix(_CHOICE)] = text
            except ValueError:
                damaged.append(key.removeprefix(_CHOICE))
    st.session_state[_SAVED] = stored
    if damaged:
        st.toast(f"Some saved settings could not be read and were reset: {', '.join(damaged[:5])}.",
                 icon=":material/warning:")


def _browser_session() -> str | None:
    """This session's id when a browser is connected to it (None for a scripted run, AppTest)."""
    context = get_script_run_ctx()
    if context is None or not runtime.exists() or not runtime.get_instance().is_active_session(context.session_id):
        return None
    return context.session_id


def _restore_missing_choices() -> None:
    pending = st.session_state.setdefault(_PENDING, set())
    for key, text in st.session_state[_SAVED].items():
        if key not in st.session_state:
            st.session_state[key] = values.decode(text)
            pending.add(key)


def put_back_choices(choices: dict) -> None:
    """Sets these choices for the widgets the next page draws (a lesson's scene), as a reload
    puts back the workspace's: a value its widget refuses now is forgotten, not an error."""
    pending = st.session_state.setdefault(_PENDING, set())
    for key, value in choices.items():
        if _choice_key(key):
            st.session_state[key] = value
            pending.add(key)


def forget_restored_choices(refusal: BaseException) -> bool:
    """After a value the page could not use: forgets it, so that its widget starts from its
    default. A widget that refused its remembered value (out of its range now, or no longer one
    of its options: the model or layer it belonged to changed since, on this page, in a reload
    or in a lesson's scene) is found by the `key` its Streamlit function was called with, in the
    refusal's traceback; any other failure right after values were put back forgets those that
    no widget has taken yet. False when there is nothing to forget: the failure is a bug."""
    pending = st.session_state.get(_PENDING, set())
    keys = set()
    trace = refusal.__traceback__
    while trace is not None:
        keys.add(trace.tb_frame.f_locals.get("key"))
        trace = trace.tb_next
    refused = ([key for key in keys if isinstance(key, str) and key in st.session_state]
               if isinstance(refusal, StreamlitAPIException) else [])
    culprits = refused or [key for key in pending if key in keys] or list(pending)
    pending.difference_update(culprits)
    for key in culprits:
        st.session_state.pop(key, None)
        st.session_state[_SAVED].pop(key, None)
    if culprits:
        with contextlib.suppress(ReadOnlyWorkspace, UnknownWorkspace):
            STORE.delete_values(workspace_id(), [_CHOICE + key for key in culprits])
    return bool(culprits)


def _choices() -> dict:
    state = get_session_state()._state  # noqa: SLF001 - the widget kinds are only kept there
    kinds = state._new_widget_state.widget_metadata  # noqa: SLF001
    widget_ids = state._key_id_mapper._key_id_mapping  # noqa: SLF001
    # A value put back is safe once its widget has taken it (drawn with it, without a refusal).
    st.session_state.get(_PENDING, set()).difference_update(k for k, w in widget_ids.items() if w in kinds)
    unsettable = {key for key, widget in widget_ids.items()
                  if widget in kinds and kinds[widget].value_type not in _SETTABLE}
    return {key: value for key, value in st.session_state.to_dict().items()
            if _choice_key(key) and key not in unsettable and values.storable(value)}


def _choice_key(key) -> bool:
    return isinstance(key, str) and not key.startswith("_") and "__" not in key


def _unknown_link() -> None:
    st.title("This workspace link does not open anything")
    st.error(f"No workspace has the id in this link: it was mistyped, or it went unused for more than "
             f"{KEEP_DAYS:g} days and was removed.", icon=":material/link_off:")
    fresh, back = st.columns([1, 3])
    chosen = None
    if fresh.button("Start a fresh workspace", icon=":material/add:", type="primary"):
        chosen = STORE.create_workspace()
    remembered = st.context.cookies.get(COOKIE)
    if is_workspace_id(remembered) and remembered != st.query_params.get(PARAMETER):
        if back.button("Back to this browser's workspace", icon=":material/undo:"):
            chosen = remembered
    if chosen is not None:
        try:
            STORE.open_workspace(chosen)
        except UnknownWorkspace:  # this browser's own went unused too long
            chosen = STORE.create_workspace()
        _adopt(chosen)
        st.query_params[PARAMETER] = chosen
        st.rerun()
    st.stop()
