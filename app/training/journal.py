"""A training run written to a workspace store as it trains, so that a reload finds it and a
server that dies mid-run leaves its curves and checkpoints behind.

Metrics go in batches (at most one write a second, and at each validation): one write per step
would slow training (bench/training.py keeps the page's throughput ratio with every metric
kept). A checkpoint is a blob; so is the newest resume point, which replaces the one before. A store that is full, or fails, ends the keeping, not the run:
the run trains on and says why it is not kept.
"""

from __future__ import annotations

import logging
import time

from app.training.loop import Checkpoint, Metric, ResumePoint, TrainingResult, ValidationMetric
from app.training.records import DataChoice, config_text, data_text, metrics_text, result_text, state_bytes
from app.workspace.store import WorkspaceStore

FLUSH_S = 1.0
_log = logging.getLogger(__name__)


class RunJournal:
    def __init__(self, store: WorkspaceStore, workspace: str, label: str, config, data: DataChoice,
                 resumed: tuple[int, list[Metric]] | None = None):
        """Begins the run's record; `resumed` (step, metrics up to it): an interrupted run's,
        which goes on from that step and forgets what it had trained after it."""
        self.store, self.workspace, self.label = store, workspace, label
        self.not_kept: str | None = None  # why the run stopped being written, in words
        self._pending: list[Metric] = []
        self._steps_done = 0
        self._flushed_at = self._started = time.monotonic()
        if resumed is None:
            store.begin_run(workspace, label, config_text(config), data_text(data))
        else:
            self._steps_done, history = resumed
            store.resume_run(workspace, label, metrics_text(history), self._steps_done)

    def record(self, metric: Metric) -> None:
        if self.not_kept:
            return
        if isinstance(metric, Checkpoint):
            self._keep(lambda: self.store.add_checkpoint(
                self.workspace, self.label, metric.step,
                self.store.put_blob(self.workspace, state_bytes(metric.state))))
            return
        if isinstance(metric, ResumePoint):
            self.flush()  # the curves up to its step first: a resumed run keeps them
            self._keep(lambda: self.store.set_resume_point(
                self.workspace, self.label, metric.state.step,
                self.store.put_blob(self.workspace, state_bytes(metric.state.tensors()))))
            return
        self._pending.append(metric)
        self._steps_done = max(self._steps_done, metric.step)
        if isinstance(metric, ValidationMetric) or time.monotonic() - self._flushed_at >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self._pending and not self.not_kept:
            batch, self._pending = self._pending, []
            self._keep(lambda: self.store.append_run_metrics(self.workspace, self.label, metrics_text(batch),
                                                             self._steps_done, self._seconds()))
        self._flushed_at = time.monotonic()

    def ended(self, status: str, problem: str | None, result: TrainingResult | None) -> None:
        self.flush()
        text = None if result is None else result_text(result.confusion, result.wrong, result.stopped_early,
                                                        result.steps)
        # The end is written even when the run stopped being kept: its row must not say "training".
        try:
            self.store.end_run(self.workspace, self.label, status, problem or self.not_kept, text, self._seconds())
        except Exception:  # noqa: BLE001 - a failing store must not turn a finished run into a crash
            _log.exception("could not record the end of a run")

    def _seconds(self) -> float:
        return time.monotonic() - self._started

    def _keep(self, write) -> None:
        try:
            write()
        except Exception as error:  # noqa: BLE001 - full, read-only or broken: the run goes on unkept
            self.not_kept = f"not kept for your next visit: {error}"
            _log.warning("a run stopped being kept: %s", error)
