"""A run read back from a workspace store: one no process is training (it finished, was
stopped, failed, or was interrupted by a restart). It answers as a live run does (label,
config, data, snapshot) so that pages draw both alike.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from app.training.datasets import Split, SplitSummary
from app.training.loop import Histogram, StepMetric, TrainingConfig, TrainingResult, ValidationMetric
from app.training.networks import build
from app.training.records import DataChoice, config_from, data_from, metrics_from, result_from, state_from
from app.training.resume_state import ResumeState
from app.training.runs import RunSnapshot
from app.workspace.store import RunRow


class StoredRun:
    def __init__(self, row: RunRow, split_of: Callable[[DataChoice, int], Split], blob: Callable[[str], bytes]):
        """`split_of(choice, seed)` makes the run's split again; `blob(sha256)` reads a checkpoint."""
        self.label, self.status = row.label, row.status
        self.config: TrainingConfig = config_from(row.config)
        self.choice: DataChoice = data_from(row.data)
        self._row, self._split_of, self._blob = row, split_of, blob
        metrics = metrics_from(row.metric_chunks)
        self._steps = [m for m in metrics if isinstance(m, StepMetric)]
        self._validations = [m for m in metrics if isinstance(m, ValidationMetric)]
        self._histograms = [m for m in metrics if isinstance(m, Histogram)]
        self._data: Split | None = None
        self._snapshot: RunSnapshot | None = None

    @property
    def data(self) -> Split:
        if self._data is None:
            self._data = self._split_of(self.choice, self.config.seed)
        return self._data

    def stop(self) -> None:
        """Nothing trains it."""

    def snapshot(self) -> RunSnapshot:
        if self._snapshot is None:
            row = self._row
            result = self._result() if row.result is not None else None
            fraction = min(1.0, row.steps_done / max(1, self._total_steps()))
            self._snapshot = RunSnapshot(
                status=row.status, fraction=fraction, partial=None, result=result, error=row.problem,
                seconds=row.seconds, label=self.label, config=self.config,
                data=SplitSummary(self.choice.dataset, self.choice.train_images, self.choice.validation_images),
                steps=self._steps, validations=self._validations, histograms=self._histograms)
        return self._snapshot

    def checkpoints(self) -> list[tuple[int, dict[str, torch.Tensor]]]:
        """(step, parameters), by step: a resumed run goes on from the last."""
        return [(step, state_from(self._blob(sha))) for step, sha in self._row.checkpoints]

    @property
    def resume_step(self) -> int | None:
        """The step it goes on from: its newest resume point's, or else (a run kept before resume
        points were) its last checkpoint's, with a fresh optimizer; None without either."""
        if self._row.resume is not None:
            return self._row.resume[0]
        return self._row.checkpoints[-1][0] if self._row.checkpoints else None

    @property
    def resumes_exactly(self) -> bool:
        return self._row.resume is not None

    def resume_state(self) -> ResumeState | None:
        """Its newest resume point, when kept."""
        if self._row.resume is None:
            return None
        return ResumeState.from_tensors(state_from(self._blob(self._row.resume[1])))

    def history(self, up_to_step: int) -> list:
        """The metrics up to `up_to_step`, in the order they came."""
        return [m for m in metrics_from(self._row.metric_chunks) if m.step <= up_to_step]

    def _total_steps(self) -> int:
        per_epoch = -(-self.choice.train_images // self.config.batch_size)
        return per_epoch * self.config.epochs

    def _result(self) -> TrainingResult:
        fields = result_from(self._row.result)
        checkpoints = self.checkpoints()
        data = self.data
        model = build(self.config.model, tuple(data.train_x.shape[1:]), len(data.classes), self.config.batch_norm,
                      self.config.dropout, self.config.width, self.config.skip_connections)
        if checkpoints:
            model.load_state_dict(checkpoints[-1][1])
        return TrainingResult(stopped_early=fields["stopped_early"], problem=self._row.problem, steps=fields["steps"],
                              confusion=fields["confusion"], wrong=fields["wrong"], checkpoints=checkpoints,
                              model=model.eval())
