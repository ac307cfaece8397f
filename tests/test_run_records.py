"""A training run written to the workspace store as it trains, and read back: the same curves,
end-of-run figures, checkpoints and final model; a run whose owner went away is "interrupted"."""

import gc
import time

import numpy as np
import pytest
import torch

from app.serving.run_owner import RunOwner
from app.training import loop
from app.training.augment import Augmentation
from app.training.datasets import SOURCES, split
from app.training.journal import RunJournal
from app.training.loop import ResumePoint, StepMetric, TrainingConfig, train
from app.training.records import (
    DataChoice,
    config_from,
    config_text,
    metrics_from,
    metrics_text,
    state_bytes,
    state_from,
)
from app.training.resume_state import ResumeState
from app.training.runs import TrainingRun
from app.training.stored_runs import StoredRun
from app.workspace.sqlite_store import SQLiteStore

DIGITS = "Digits (8×8, scikit-learn)"


@pytest.fixture(scope="module")
def digits():
    return SOURCES[DIGITS].load()


def _kept_run(tmp_path, digits, config: TrainingConfig):
    """A run started on 200 validation digits and kept in a fresh store as it trains: (store,
    workspace, split, owner, run). The owner is returned to be held: a run whose owner is
    collected stops."""
    store = SQLiteStore(tmp_path / "data")
    workspace = store.create_workspace()
    data = split(digits, 200, seed=0)
    owner = RunOwner()
    run = TrainingRun("r", config, data, owner, journal=RunJournal(store, workspace, "r", config, _choice(data)))
    return store, workspace, data, owner, run.start()


def _choice(data, validation=200):
    return DataChoice(DIGITS, validation, None, len(data.train_y), len(data.val_y))


def test_a_config_round_trips():
    config = TrainingConfig(model="Small ResNet", batch_norm=True, dropout=0.25, skip_connections=False,
                            augmentation=Augmentation(crop=2, flip=True, rotation=15.0, noise=0.1))
    assert config_from(config_text(config)) == config


def test_a_run_read_back_is_the_run_that_trained(backend, digits):
    store = backend.open()
    workspace = store.create_workspace()
    data = split(digits, 200, seed=4)
    config = TrainingConfig(model="LeNet-5", epochs=3, seed=4, checkpoints=4)
    owner = RunOwner()
    journal = RunJournal(store, workspace, "run 1", config, _choice(data))
    run = TrainingRun("run 1", config, data, owner, journal=journal).start()
    run.thread.join(timeout=120)
    live = run.snapshot()
    assert live.status == "finished"

    stored = StoredRun(store.run(workspace, "run 1"), lambda choice, seed: split(digits, choice.validation, seed),
                       store.blob)
    back = stored.snapshot()
    assert back.status == "finished" and back.label == "run 1" and back.config == config
    assert back.steps == live.steps and back.validations == live.validations
    assert len(back.histograms) == len(live.histograms)
    for mine, theirs in zip(back.histograms, live.histograms):
        assert mine.step == theirs.step and np.array_equal(mine.counts, theirs.counts)
    assert np.array_equal(back.result.confusion, live.result.confusion)
    assert back.result.wrong == live.result.wrong  # JSON keeps a float's every bit
    assert [s for s, _ in back.result.checkpoints] == [s for s, _ in live.result.checkpoints]
    for (_, mine), (_, theirs) in zip(back.result.checkpoints, live.result.checkpoints):
        assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    with torch.inference_mode():
        assert torch.equal(back.result.model(data.val_x[:32]), live.result.model(data.val_x[:32]))
    assert torch.equal(stored.data.val_x, data.val_x)  # the same split, made again
    assert back.seconds > 0 and back.fraction == 1.0


def test_metrics_are_written_in_batches_not_per_step(tmp_path, digits):
    config = TrainingConfig(model="MLP", epochs=20, seed=0, checkpoints=2)
    store, workspace, data, owner, run = _kept_run(tmp_path, digits, config)
    run.thread.join(timeout=120)
    row = store.run(workspace, "r")
    steps = [m for m in metrics_from(row.metric_chunks) if type(m).__name__ == "StepMetric"]
    total = -(-len(data.train_y) // config.batch_size) * config.epochs
    assert len(steps) == total == row.steps_done and total > 300
    # One batch per validation (each epoch's end) or per second: far fewer writes than steps.
    assert len(row.metric_chunks) <= 20 + row.seconds + 2


def test_a_run_whose_workspace_went_away_is_interrupted_with_its_curves(tmp_path, digits):
    config = TrainingConfig(model="LeNet-5", epochs=500, checkpoints=400)
    store, workspace, data, owner, run = _kept_run(tmp_path, digits, config)
    deadline = time.monotonic() + 60
    while len(run.snapshot().validations) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    del owner
    gc.collect()
    run.thread.join(timeout=10)
    row = store.run(workspace, "r")
    assert row.status == "interrupted" and row.steps_done >= 36
    stored = StoredRun(row, lambda choice, seed: split(digits, choice.validation, seed), store.blob)
    assert len(stored.snapshot().validations) >= 2 and not stored.snapshot().active
    step, state = stored.checkpoints()[-1]
    assert step == row.checkpoints[-1][0] and step > 0
    assert state.keys() == run.snapshot().result.model.state_dict().keys()


def test_a_run_the_student_stopped_is_stopped(tmp_path, digits):
    config = TrainingConfig(model="MLP", epochs=500)
    store, workspace, data, owner, run = _kept_run(tmp_path, digits, config)
    while not run.snapshot().steps:
        time.sleep(0.02)
    run.stop()
    run.thread.join(timeout=10)
    assert store.run(workspace, "r").status == "stopped"


def test_a_full_store_ends_the_keeping_not_the_run(tmp_path, digits):
    store = SQLiteStore(tmp_path / "data", workspace_cap_bytes=20_000)
    workspace = store.create_workspace()
    data = split(digits, 200, seed=0)
    config = TrainingConfig(model="LeNet-5", epochs=2)
    journal = RunJournal(store, workspace, "r", config, _choice(data))
    owner = RunOwner()
    run = TrainingRun("r", config, data, owner, journal=journal).start()
    run.thread.join(timeout=120)
    assert run.snapshot().status == "finished"
    assert journal.not_kept and "full" in journal.not_kept
    row = store.run(workspace, "r")
    assert row.status == "finished" and "full" in row.problem


def test_metric_batches_refuse_unknown_kinds():
    with pytest.raises(ValueError):
        metrics_from(('[["gradient", 1, 2]]',))
    assert metrics_from((metrics_text([]),)) == []


def test_a_resumed_run_ends_where_the_uninterrupted_one_does(digits):
    """Plain SGD keeps no state and no augmentation draws from the generator: going on from a
    checkpoint must reach the very same parameters as never stopping (a brute-force oracle)."""
    data = split(digits, 200, seed=1)
    config = TrainingConfig(model="LeNet-5", optimizer="SGD", learning_rate=0.05, epochs=4, seed=1, checkpoints=5)
    whole = train(config, data)
    middle = [c for c in whole.checkpoints if 0 < c[0] < whole.steps][:2]
    resumed = train(config, data, resume_from=[whole.checkpoints[0], *middle])
    assert resumed.steps == whole.steps
    final, expected = resumed.model.state_dict(), whole.model.state_dict()
    assert all(torch.equal(final[k], expected[k]) for k in expected)
    assert [s for s, _ in resumed.checkpoints] == [s for s, _ in whole.checkpoints]


def test_an_interrupted_run_resumes_from_its_last_checkpoint_with_its_curves(tmp_path, digits):
    config = TrainingConfig(model="MLP", epochs=40, checkpoints=10)
    store, workspace, data, owner, first = _kept_run(tmp_path, digits, config)
    while len(first.snapshot().steps) < 200:
        time.sleep(0.02)
    first.stop()
    first.thread.join(timeout=10)
    store.end_run(workspace, "r", "interrupted", None, None, 1.0)  # as after a restart
    stored = StoredRun(store.run(workspace, "r"), lambda choice, seed: split(digits, choice.validation, seed),
                       store.blob)
    checkpoints = stored.checkpoints()
    step = checkpoints[-1][0]
    history = stored.history(step)
    assert history and max(m.step for m in history) <= step
    journal = RunJournal(store, workspace, "r", config, _choice(data), resumed=(step, history))
    assert stored.resumes_exactly  # the optimizer and the generator were kept at the last checkpoint
    second = TrainingRun("r", config, data, owner, journal=journal, resume_from=checkpoints,
                         resume_state=stored.resume_state(), history=history).start()
    second.thread.join(timeout=120)
    whole = train(config, data)  # the oracle: never interrupted
    final, expected = second.snapshot().result.model.state_dict(), whole.model.state_dict()
    assert all(torch.equal(final[k], expected[k]) for k in expected)
    done = store.run(workspace, "r")
    assert done.status == "finished"
    again = StoredRun(done, lambda choice, seed: split(digits, choice.validation, seed), store.blob).snapshot()
    total = -(-len(data.train_y) // config.batch_size) * config.epochs
    assert [m.step for m in again.steps] == list(range(1, total + 1))  # every step once, none twice
    assert [s for s, _ in again.result.checkpoints][0] == 0 and again.result.checkpoints[-1][0] == total


def _resume_points(metrics: list) -> list[ResumeState]:
    """As the store keeps them: through safetensors bytes."""
    return [ResumeState.from_tensors(state_from(state_bytes(m.state.tensors())))
            for m in metrics if isinstance(m, ResumePoint)]


@pytest.mark.parametrize("optimizer", ["Adam", "Nesterov"])
@pytest.mark.parametrize("stop_at, checkpoints", [
    (0, 4),  # before the first batch order is drawn
    (7, 4),  # within the first epoch
    (10, 4),  # after a scheduled checkpoint on the first epoch's last batch
    (10, 3),  # before the second epoch's first batch, its order drawn already
    (15, 3),  # after a scheduled checkpoint within the second epoch
])
def test_a_run_stopped_and_resumed_goes_on_exactly(digits, optimizer, stop_at, checkpoints):
    """With the weights, the optimizer's running state and the generator kept when it stopped,
    going on reaches the very parameters, metrics and checkpoints of never stopping (a
    brute-force oracle): with Adam's moments, Nesterov's momentum, and augmentation drawing
    from the generator."""
    data = split(digits, 200, seed=2)
    assert -(-len(data.train_y) // 128) == 10  # batches per epoch, as the cases above assume
    config = TrainingConfig(model="LeNet-5", optimizer=optimizer, learning_rate=0.01, batch_size=128, epochs=3,
                            seed=3, checkpoints=checkpoints, augmentation=Augmentation(crop=1, rotation=10.0, noise=0.05))
    whole_metrics: list = []
    whole = train(config, data, whole_metrics.append)
    kept: list = []
    stopped = train(config, data, kept.append, should_stop=lambda: stop_at == 0 or any(
        isinstance(m, StepMetric) and m.step >= stop_at for m in kept))
    [point] = _resume_points(kept)[-1:]
    assert point.step == stop_at and stopped.stopped_early
    after: list = []
    resumed = train(config, data, after.append, resume_from=stopped.checkpoints, resume_state=point)
    final, expected = resumed.model.state_dict(), whole.model.state_dict()
    assert all(torch.equal(final[k], expected[k]) for k in expected)
    steps = [(m.step, m.loss, m.accuracy) for m in after if isinstance(m, StepMetric)]
    assert steps == [(m.step, m.loss, m.accuracy) for m in whole_metrics if isinstance(m, StepMetric)][stop_at:]
    # The landscape's path: the uninterrupted run's checkpoints, and the one taken when it stopped.
    assert [s for s, _ in resumed.checkpoints] == sorted({s for s, _ in whole.checkpoints} | {stop_at})


def test_a_run_killed_between_two_resume_points_goes_on_from_the_newest(digits, monkeypatch):
    """A server killed mid-run leaves only the resume points written so far: any one of them
    (here one taken every step) is a place to go on from exactly."""
    monkeypatch.setattr(loop, "RESUME_EVERY_S", 0.0)
    data = split(digits, 200, seed=2)
    config = TrainingConfig(model="LeNet-5", optimizer="Adam", batch_size=128, epochs=2, seed=5,
                            augmentation=Augmentation(crop=2))
    whole_metrics: list = []
    whole = train(config, data, whole_metrics.append)
    points = _resume_points(whole_metrics)
    assert [p.step for p in points] == list(range(1, 20))  # every step but the last (the run's end)
    kept_until = [c for c in whole.checkpoints if c[0] <= 17]
    resumed = train(config, data, resume_from=kept_until, resume_state=points[16])
    final, expected = resumed.model.state_dict(), whole.model.state_dict()
    assert all(torch.equal(final[k], expected[k]) for k in expected)


def test_without_its_kept_state_a_resumed_adam_run_goes_its_own_way(digits):
    """The oracle above can fail: a fresh optimizer (Adam's moments lost) ends elsewhere."""
    data = split(digits, 200, seed=2)
    config = TrainingConfig(model="LeNet-5", optimizer="Adam", learning_rate=0.01, batch_size=128, epochs=2, seed=3)
    whole = train(config, data)
    kept: list = []
    stopped = train(config, data, kept.append, should_stop=lambda: any(
        isinstance(m, StepMetric) and m.step >= 7 for m in kept))
    resumed = train(config, data, resume_from=stopped.checkpoints)
    final, expected = resumed.model.state_dict(), whole.model.state_dict()
    assert not all(torch.equal(final[k], expected[k]) for k in expected)
