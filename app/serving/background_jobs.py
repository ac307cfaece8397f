"""Long computations (a loss-landscape grid) in a worker thread that a page polls.

`work(report, should_stop)` runs in the thread; it calls `report(fraction, partial)`
as it goes and polls `should_stop()` between steps. The owner works as for training
runs: when the session's owner is gone, the job stops by itself. With `slots`, the
job first waits for a server-wide slot, and the poll is its safe point: there it may
pause for fairness (see app.serving.compute_slots) and resume with its state kept.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from app.serving.compute_slots import ComputeSlots, Ticket
from app.serving.run_owner import RunOwner, owner_gone

Report = Callable[[float, object], None]
ACTIVE = ("queued", "running", "paused")  # the statuses of a job that has not ended


@dataclass(frozen=True, eq=False)
class JobSnapshot:
    status: str  # "queued", "running", "paused" (for fairness), "finished", "stopped", "failed"
    fraction: float
    partial: object  # the latest partial result reported
    result: object | None
    error: str | None
    seconds: float
    place_in_line: int | None = None  # while queued or paused for a server-wide slot

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class BackgroundJob:
    def __init__(self, work: Callable[[Report, Callable[[], bool]], object], owner: RunOwner, name: str = "job",
                 slots: ComputeSlots | None = None):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = slots
        self._ticket = Ticket(owner.number, name)  # `name` says what the job computes, in the queue
        self.session = owner.number  # whose job it is
        self._status, self._fraction, self._partial = "queued" if slots else "running", 0.0, None
        self._result, self._error = None, None
        self._started, self._ended = time.monotonic(), None
        owner_ref = weakref.ref(owner)
        self.thread = threading.Thread(target=self._run, args=(work, owner_ref), name=name, daemon=True)
        self.thread.start()

    def _run(self, work, owner_ref) -> None:
        def should_stop() -> bool:
            return self._stop.is_set() or owner_gone(owner_ref)

        def at_safe_point() -> bool:
            slots = self._slots
            return should_stop() or (slots is not None and not slots.safe_point(self._ticket, should_stop))

        def report(fraction: float, partial: object) -> None:
            with self._lock:
                self._fraction, self._partial = fraction, partial
            if self._slots is not None:
                self._slots.report(self._ticket, fraction)

        if self._slots is not None:
            if not self._slots.wait_for_slot(self._ticket, should_stop):
                with self._lock:
                    self._status, self._ended = "stopped", time.monotonic()
                return
            with self._lock:
                self._status, self._started = "running", time.monotonic()
        try:
            result = work(report, at_safe_point)
            with self._lock:
                self._result = result
                self._status = "stopped" if should_stop() else "finished"
        except Exception as exc:  # shown on the page; the app goes on
            with self._lock:
                self._status, self._error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._ended = time.monotonic()
            if self._slots is not None:
                self._slots.leave(self._ticket)

    def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> JobSnapshot:
        state, place = self._slots.position(self._ticket) if self._slots is not None else ("running", None)
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            status = "paused" if self._status == "running" and state == "paused" else self._status
            return JobSnapshot(status, self._fraction, self._partial, self._result, self._error,
                               end - self._started, place)
