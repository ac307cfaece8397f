"""A training run: a background job (app.serving.background_jobs) whose metrics the page
reads as they come.

The job's life is every background job's: it waits for a server-wide slot (with `slots`),
stops when asked, when it finishes, or when its owner is gone (collected with the browser
session's state, or disconnected for longer than a grace period), within one training step,
and may pause between two steps for fairness to other sessions (app.serving.compute_slots),
then resume where it was. The run adds the metrics and says "failed" when training ended on a
problem (a diverged loss).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

from app.serving.background_jobs import BackgroundJob, JobSnapshot, Report
from app.serving.compute_slots import ComputeSlots
from app.serving.run_owner import RunOwner
from app.training.datasets import Split, SplitSummary
from app.training.journal import RunJournal
from app.training.loop import (
    Checkpoint,
    Histogram,
    Metric,
    ResumePoint,
    StepMetric,
    TrainingConfig,
    TrainingResult,
    ValidationMetric,
    train,
)
from app.training.resume_state import ResumeState


@dataclass(frozen=True, eq=False, kw_only=True)
class RunSnapshot(JobSnapshot):
    """Every background job's snapshot, with the run's metrics so far. `result` is the
    TrainingResult; a run that diverged is "failed", with the reason as its `error`."""
    label: str
    config: TrainingConfig
    data: SplitSummary
    steps: list[StepMetric]
    validations: list[ValidationMetric]
    histograms: list[Histogram]

    @property
    def problem(self) -> str | None:
        return self.error


@dataclass(eq=False)
class TrainingRun:
    label: str
    config: TrainingConfig
    data: Split
    owner: RunOwner
    slots: ComputeSlots | None = None  # a server-wide cap on concurrent runs
    journal: RunJournal | None = None  # where the run is written as it trains (a workspace)
    resume_from: list[tuple[int, dict]] | None = None  # an interrupted run's checkpoints: it goes on from the last
    resume_state: ResumeState | None = None  # its newest resume point, when kept: it goes on from there
    history: list[Metric] = field(default_factory=list)  # its metrics up to that step
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _steps: list = field(default_factory=list, init=False)
    _validations: list = field(default_factory=list, init=False)
    _histograms: list = field(default_factory=list, init=False)
    _job: BackgroundJob | None = field(default=None, init=False)
    _stop_asked: bool = field(default=False, init=False)

    def start(self) -> "TrainingRun":
        for metric in self.history:
            {StepMetric: self._steps, ValidationMetric: self._validations, Histogram: self._histograms}[
                type(metric)].append(metric)
        work = f"{self.config.model} on {self.data.dataset}, {self.config.epochs} epochs"
        self._job = BackgroundJob(self._work, self.owner, name=work, slots=self.slots)
        del self.owner  # the run must not keep the session's owner alive
        return self

    @property
    def thread(self) -> threading.Thread:
        return self._job.thread

    def stop(self) -> None:
        self._stop_asked = True
        self._job.stop()

    def _work(self, report: Report, should_stop) -> TrainingResult:
        def record(metric: Metric) -> None:
            if self.journal is not None:
                self.journal.record(metric)
            if isinstance(metric, (Checkpoint, ResumePoint)):
                return  # kept by the journal; the page draws neither
            target = {StepMetric: self._steps, ValidationMetric: self._validations, Histogram: self._histograms}
            with self._lock:
                target[type(metric)].append(metric)
            if isinstance(metric, StepMetric):
                report(metric.epoch / self.config.epochs, None)

        try:
            result = train(self.config, self.data, record, should_stop, self.resume_from, self.resume_state)
        except BaseException as error:
            if self.journal is not None:
                self.journal.ended("failed", f"{type(error).__name__}: {error}", None)
            raise
        if self.journal is not None:
            self.journal.ended(self._ending(result), result.problem, result)
        return result

    def _ending(self, result: TrainingResult) -> str:
        """How the store records the end: a run stopped for any reason but the student's (its
        workspace closed, the server shutting down) is "interrupted", and may be resumed."""
        if result.problem:
            return "failed"
        if result.stopped_early:
            return "stopped" if self._stop_asked else "interrupted"
        return "finished"

    def snapshot(self) -> RunSnapshot:
        job = self._job.snapshot()
        result: TrainingResult | None = job.result
        status, problem = job.status, job.error
        if result is not None:
            problem = result.problem
            status = "failed" if problem else ("stopped" if result.stopped_early else job.status)
        common = {f.name: getattr(job, f.name) for f in dataclasses.fields(JobSnapshot)}
        common.update(status=status, error=problem, seconds=job.seconds if status != "queued" else 0.0)
        with self._lock:
            return RunSnapshot(**common, label=self.label, config=self.config, data=self.data.summary,
                               steps=list(self._steps), validations=list(self._validations),
                               histograms=list(self._histograms))


def trained_run(label: str, config: TrainingConfig, data: Split) -> RunSnapshot:
    """Trains `config` on `data` to the end before returning, as a notebook would, through the
    page's own machinery: the snapshot the page draws its curves from."""
    owner = RunOwner()  # held here until the run ends: a run stops once its owner is gone
    run = TrainingRun(label, config, data, owner).start()
    run.thread.join()
    return run.snapshot()
