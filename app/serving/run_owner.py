"""Who background work belongs to: runs and jobs stop when their owner is gone."""

from __future__ import annotations

import itertools
import time
import weakref
from typing import Callable

_numbers = itertools.count(1)


class RunOwner:
    """Held by whoever started runs or jobs (a browser session's state).

    They stop when the owner is collected, or when `connected()` has answered False for
    `grace_s` seconds: a closed browser's session is kept by the server for a while in
    case it reconnects, and its work should not go on for nobody meanwhile.

    `number` names the session in the server's queue of background work ("student 3"):
    the order in which sessions first started work, nothing personal.
    """

    def __init__(self, connected: Callable[[], bool] | None = None, grace_s: float = 30.0):
        self._connected, self._grace_s = connected, grace_s
        self.number = next(_numbers)
        self._disconnected_since: float | None = None

    def gone(self) -> bool:
        if self._connected is None or self._connected():
            self._disconnected_since = None
            return False
        now = time.monotonic()
        if self._disconnected_since is None:
            self._disconnected_since = now
        return now - self._disconnected_since >= self._grace_s


def owner_gone(owner: weakref.ref) -> bool:
    alive = owner()
    return alive is None or alive.gone()
