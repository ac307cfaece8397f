"""A server-wide cap on heavy background work, with a first-come, first-served line.

Training runs and loss-landscape grids each take every core they are given; twenty
students starting them at once would make every one of them crawl. At most
`capacity` hold a slot; the others wait in line, and a page can say where.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class ComputeSlots:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._changed = threading.Condition()
        self._holders: set[int] = set()
        self._line: deque[int] = deque()

    def wait_for_slot(self, holder: object, should_stop: Callable[[], bool], poll_s: float = 0.5) -> bool:
        """Blocks until `holder` is first in line and a slot is free (True), or until
        `should_stop()` says so while waiting (False; it leaves the line)."""
        ticket = id(holder)
        with self._changed:
            self._line.append(ticket)
            try:
                while not (self._line[0] == ticket and len(self._holders) < self.capacity):
                    if should_stop():
                        return False
                    self._changed.wait(poll_s)
                self._line.popleft()
                self._holders.add(ticket)
                return True
            finally:
                if ticket in self._line:
                    self._line.remove(ticket)
                self._changed.notify_all()  # the next in line may now go

    def release(self, holder: object) -> None:
        with self._changed:
            self._holders.discard(id(holder))
            self._changed.notify_all()

    def place_in_line(self, holder: object) -> int | None:
        """1 for the next to start; None when `holder` is not waiting."""
        with self._changed:
            try:
                return self._line.index(id(holder)) + 1
            except ValueError:
                return None

    def busy(self) -> tuple[int, int]:
        """(slots in use, jobs waiting)."""
        with self._changed:
            return len(self._holders), len(self._line)
