"""A training run in a background thread, read safely from another thread.

The worker never touches Streamlit; the page polls `snapshot()`. A run stops
when asked, when it finishes, or when its owner is gone (collected with the
browser session's state, or its browser disconnected for longer than a grace
period), within one training step. With `slots`, it waits for a server-wide slot,
and may pause between two steps for fairness to other sessions (app.serving.compute_slots),
then resume where it was.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field

from app.serving.compute_slots import ComputeSlots, Ticket
from app.serving.run_owner import RunOwner, owner_gone
from app.training.datasets import Split, SplitSummary
from app.training.loop import (
    Histogram,
    Metric,
    StepMetric,
    TrainingConfig,
    TrainingResult,
    ValidationMetric,
    train,
)


@dataclass(frozen=True, eq=False)
class Snapshot:
    label: str
    config: TrainingConfig
    data: SplitSummary
    status: str  # "queued", "running", "paused" (for fairness), "finished", "stopped", "failed"
    problem: str | None
    steps: list[StepMetric]
    validations: list[ValidationMetric]
    histograms: list[Histogram]
    result: TrainingResult | None
    seconds: float
    place_in_line: int | None = None  # while queued or paused for a server-wide slot

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running", "paused")


@dataclass(eq=False)
class TrainingRun:
    label: str
    config: TrainingConfig
    data: Split
    owner: RunOwner
    slots: ComputeSlots | None = None  # a server-wide cap on concurrent runs
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _steps: list = field(default_factory=list, init=False)
    _validations: list = field(default_factory=list, init=False)
    _histograms: list = field(default_factory=list, init=False)
    _status: str = field(default="queued", init=False)
    _problem: str | None = field(default=None, init=False)
    _result: TrainingResult | None = field(default=None, init=False)
    _started: float = field(default=0.0, init=False)
    _ended: float | None = field(default=None, init=False)
    thread: threading.Thread | None = field(default=None, init=False)
    _ticket: Ticket | None = field(default=None, init=False)  # its claim on a slot, from start()

    def start(self) -> "TrainingRun":
        self._ticket = Ticket(self.owner.number,
                              f"{self.config.model} on {self.data.dataset}, {self.config.epochs} epochs")
        owner = weakref.ref(self.owner)
        del self.owner  # the thread must not keep the session's owner alive
        self.thread = threading.Thread(target=self._work, args=(owner,), name=f"training: {self.label}",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _record(self, metric: Metric) -> None:
        target = {StepMetric: self._steps, ValidationMetric: self._validations, Histogram: self._histograms}
        with self._lock:
            target[type(metric)].append(metric)
        if isinstance(metric, StepMetric) and self.slots is not None:
            self.slots.report(self._ticket, metric.epoch / self.config.epochs)

    def _work(self, owner: weakref.ref) -> None:
        def should_stop() -> bool:
            return self._stop.is_set() or owner_gone(owner)

        def at_safe_point() -> bool:  # train() polls it between steps
            slots = self.slots
            return should_stop() or (slots is not None and not slots.safe_point(self._ticket, should_stop))

        if self.slots is not None and not self.slots.wait_for_slot(self._ticket, should_stop):
            self._set_status("stopped")  # stopped while queued behind other sessions' work
            return
        try:
            self._set_status("running")
            self._started = time.monotonic()
            result = train(self.config, self.data, self._record, at_safe_point)
            with self._lock:
                self._result = result
                self._problem = result.problem
                self._status = "failed" if result.problem else ("stopped" if result.stopped_early else "finished")
        except Exception as exc:  # a bug or a bad setting: the page shows it, the app goes on
            with self._lock:
                self._status, self._problem = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._ended = time.monotonic()
            if self.slots is not None:
                self.slots.leave(self._ticket)

    def _set_status(self, status: str) -> None:
        with self._lock:
            self._status = status

    def snapshot(self) -> Snapshot:
        state, place = self.slots.position(self._ticket) if self.slots is not None else ("running", None)
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            status = "paused" if self._status == "running" and state == "paused" else self._status
            return Snapshot(self.label, self.config, self.data.summary, status, self._problem, list(self._steps),
                            list(self._validations), list(self._histograms), self._result,
                            end - self._started if self._started else 0.0, place)
