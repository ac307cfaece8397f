"""The runs a server trains for each workspace, and the owner they stop with.

A run belongs to its workspace, not to the browser tab that started it: a reload opens a new
session on the same workspace, which finds the run still training. The run stops only when
no session of its workspace has been connected for the grace period (everyone closed the tab
for good), so that a forgotten laptop does not hold a compute slot for the whole lesson.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.serving.run_owner import RunOwner


@dataclass
class _Workspace:
    owner: RunOwner
    sessions: set[str] = field(default_factory=set)
    headless: bool = False  # opened by a script without a browser: nobody can close it
    runs: dict[str, object] = field(default_factory=dict)  # label -> a live run, in the order started


class WorkspaceWork:
    def __init__(self, session_connected: Callable[[str], bool] | None, grace_s: float):
        """`session_connected(session_id)`: whether that browser session is connected now (None
        where there are no browsers, as in a notebook or a scripted test: always connected)."""
        self._connected, self._grace_s = session_connected, grace_s
        self._lock = threading.Lock()
        self._workspaces: dict[str, _Workspace] = {}

    def attach(self, workspace: str, session_id: str | None) -> None:
        """A session works in `workspace` (`session_id` None: a script without a browser)."""
        with self._lock:
            entry = self._entry(workspace)
            if session_id is None:
                entry.headless = True
            else:
                entry.sessions.add(session_id)

    def owner(self, workspace: str) -> RunOwner:
        with self._lock:
            return self._entry(workspace).owner

    def live(self, workspace: str) -> dict[str, object]:
        with self._lock:
            entry = self._workspaces.get(workspace)
            return dict(entry.runs) if entry else {}

    def add(self, workspace: str, run) -> None:
        with self._lock:
            self._entry(workspace).runs[run.label] = run
            self._prune()

    def forget(self, workspace: str, label: str) -> None:
        with self._lock:
            entry = self._workspaces.get(workspace)
            if entry:
                entry.runs.pop(label, None)

    def _entry(self, workspace: str) -> _Workspace:
        if workspace not in self._workspaces:
            entry = _Workspace(RunOwner(None, self._grace_s))
            if self._connected is not None:
                entry.owner = RunOwner(lambda: entry.headless or any(self._connected(s) for s in list(entry.sessions)),
                                       self._grace_s)
            self._workspaces[workspace] = entry
        return self._workspaces[workspace]

    def _prune(self) -> None:
        """Forgets the workspaces with nothing training and no session connected: what stays
        grows with the class, not with every workspace ever opened."""
        for workspace, entry in list(self._workspaces.items()):
            if self._connected is not None:
                entry.sessions.intersection_update({s for s in entry.sessions if self._connected(s)})
            if not entry.sessions and not entry.headless and not any(r.snapshot().active for r in entry.runs.values()):
                del self._workspaces[workspace]
