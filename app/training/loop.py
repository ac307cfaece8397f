"""The training loop of the live-training page, usable from a notebook with a callback.

    result = train(config, split(data, 500, seed=0), on_metrics=print)

Metrics go to `on_metrics` as they happen (a step, a validation, a histogram);
`should_stop` is polled every step. Nothing here knows about Streamlit.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from app.optim.schedules import over_run
from app.training.augment import Augmentation, augment
from app.training.datasets import Split
from app.training.networks import NETWORK_SETTINGS, build, settings_of
from app.training.resume_state import ResumeState, epoch_order, restore, resume_state_now

OPTIMIZERS = ("SGD", "Momentum (PyTorch)", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW")
HISTOGRAM_BINS = np.linspace(-4, 4, 41)  # where the probe's pre-activations are counted
# A server killed mid-run loses at most this much of it (the landscape's checkpoints are far
# sparser: a twelfth of the run); a resume point costs a copy of the weights and the optimizer.
RESUME_EVERY_S = 10.0


@dataclass(frozen=True)
class TrainingConfig:
    model: str = "LeNet-5"
    batch_norm: bool = False
    dropout: float = 0.0
    width: float = 1.0
    skip_connections: bool | None = True  # the small ResNet's; Li et al. compare with and without
    optimizer: str = "Adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    batch_size: int = 64
    epochs: int = 5
    weight_decay: float = 0.0
    seed: int = 0
    augmentation: Augmentation = field(default_factory=Augmentation)
    checkpoints: int = 12  # parameter snapshots kept over the run (for the loss landscape)


def settled(config: TrainingConfig) -> TrainingConfig:
    """`config` with the settings its network does not have set to None, so that two
    configs that train the same network the same way compare equal."""
    return dataclasses.replace(config, **{name: None for name in NETWORK_SETTINGS
                                          if name not in settings_of(config.model)})


@dataclass(frozen=True)
class StepMetric:
    step: int
    epoch: float
    loss: float
    accuracy: float
    learning_rate: float


@dataclass(frozen=True)
class ValidationMetric:
    step: int
    epoch: float
    loss: float
    accuracy: float


@dataclass(frozen=True)
class Histogram:
    step: int
    counts: np.ndarray  # over HISTOGRAM_BINS, of the probe's pre-activations on a fixed batch
    mean: float
    std: float


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """The parameters at `step` (on the CPU): the loss landscape draws the path through them."""
    step: int
    state: dict[str, torch.Tensor]


@dataclass(frozen=True, eq=False)
class ResumePoint:
    """Where an interrupted run can go on from exactly: taken every RESUME_EVERY_S of training
    and when the run is stopped. Only the newest matters."""
    state: ResumeState


Metric = StepMetric | ValidationMetric | Histogram | Checkpoint | ResumePoint


@dataclass(frozen=True, eq=False)
class TrainingResult:
    stopped_early: bool
    problem: str | None  # why the run stopped, in words (NaN loss, out of memory)
    steps: int
    confusion: np.ndarray  # (classes, classes) on the validation set: rows true, columns predicted
    wrong: list[tuple[int, int, int, float]]  # most confidently wrong: (val index, true, predicted, probability)
    checkpoints: list[tuple[int, dict[str, torch.Tensor]]]  # (step, state dict on the CPU)
    model: torch.nn.Module


def make_optimizer(config: TrainingConfig, parameters) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    return {
        "SGD": lambda: torch.optim.SGD(parameters, lr=lr, weight_decay=wd),
        "Momentum (PyTorch)": lambda: torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=wd),
        "Nesterov": lambda: torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd),
        "AdaGrad": lambda: torch.optim.Adagrad(parameters, lr=lr, weight_decay=wd),
        "RMSProp": lambda: torch.optim.RMSprop(parameters, lr=lr, weight_decay=wd),
        "Adam": lambda: torch.optim.Adam(parameters, lr=lr, weight_decay=wd),
        "AdamW": lambda: torch.optim.AdamW(parameters, lr=lr, weight_decay=wd),
    }[config.optimizer]()


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000):
    """(mean loss, accuracy, per-image probabilities) over a whole set."""
    model.eval()
    losses, probabilities = [], []
    for start in range(0, len(x), batch):
        logits = model(x[start: start + batch])
        losses.append(F.cross_entropy(logits, y[start: start + batch], reduction="sum"))
        probabilities.append(torch.softmax(logits.float(), dim=1))
    model.train()
    probabilities = torch.cat(probabilities)
    accuracy = float((probabilities.argmax(1) == y).float().mean())
    return float(torch.stack(losses).sum()) / len(x), accuracy, probabilities


def _probe_histogram(model: torch.nn.Module, batch: torch.Tensor, step: int) -> Histogram:
    captured = []
    handle = model.probe.register_forward_hook(lambda m, a, out: captured.append(out.detach()))
    try:
        with torch.inference_mode():
            model.eval()
            model(batch)
            model.train()
    finally:
        handle.remove()
    values = captured[0].float().flatten().cpu().numpy()
    counts, _ = np.histogram(np.clip(values, HISTOGRAM_BINS[0], HISTOGRAM_BINS[-1]), bins=HISTOGRAM_BINS)
    return Histogram(step, counts, float(values.mean()), float(values.std()))


_SEEDED_BUILD = threading.Lock()


def train(config: TrainingConfig, data: Split, on_metrics: Callable[[Metric], None] = lambda m: None,
          should_stop: Callable[[], bool] = lambda: False,
          resume_from: list[tuple[int, dict[str, torch.Tensor]]] | None = None,
          resume_state: ResumeState | None = None) -> TrainingResult:
    """Trains a fresh model on `data` (already on its device) and returns the result.

    Validation runs at every epoch's end (and at mid-epoch in long epochs); the
    probe's histogram on a fixed batch of 128 validation images is taken about 24
    times: together they cost under a tenth of the training (bench/training.py).
    A non-finite loss or an out-of-memory error ends the run with a `problem`.

    `resume_from`, an interrupted run's checkpoints (step, parameters), and its newest
    `resume_state` (a ResumePoint's): it goes on from that state's step exactly, with the
    optimizer's running state, the same batches in the same order and the same augmentations.
    Without a resume state (a run kept before they were), from the last checkpoint with a
    fresh optimizer and the same batch order.
    """
    generator = torch.Generator().manual_seed(config.seed)
    device = data.train_x.device
    # Layers initialise from torch's one global generator: two runs starting together (an A/B
    # pair) would interleave their draws and start from other weights than their seed gives.
    with _SEEDED_BUILD:
        torch.manual_seed(config.seed)
        model = build(config.model, tuple(data.train_x.shape[1:]), len(data.classes), config.batch_norm,
                      config.dropout, config.width, config.skip_connections).to(device)
    optimizer = make_optimizer(config, model.parameters())
    per_epoch = math.ceil(len(data.train_x) / config.batch_size)
    total = per_epoch * config.epochs
    schedule = over_run(config.schedule, total)
    validate_every = per_epoch if per_epoch < 400 else math.ceil(per_epoch / 2)
    histogram_every = max(1, total // 24)
    checkpoint_every = max(1, total // max(1, config.checkpoints - 1))
    probe_batch = data.val_x[:128]
    final_probabilities = None
    checkpoints: list[tuple[int, dict[str, torch.Tensor]]] = []

    def keep_checkpoint() -> list[tuple[int, dict[str, torch.Tensor]]]:
        if not checkpoints or checkpoints[-1][0] != step:  # a run stopped just after one has it already
            checkpoints.append((step, _cpu_state(model)))
            on_metrics(Checkpoint(*checkpoints[-1]))
        return checkpoints

    def keep_resume_point() -> None:
        nonlocal resume_kept_at
        on_metrics(ResumePoint(resume_state_now(step, model, optimizer, epoch, epoch_start, generator)))
        resume_kept_at = time.monotonic()

    step, epoch, epoch_start = 0, -1, generator.get_state()  # epoch -1: no batch order drawn yet
    if resume_from is None:
        keep_checkpoint()
        on_metrics(_probe_histogram(model, probe_batch, 0))
    elif resume_state is not None:
        step = resume_state.step
        checkpoints.extend(c for c in resume_from if c[0] <= step)  # kept already: not reported again
        restore(model, optimizer, resume_state)
    else:
        checkpoints.extend(resume_from)
        step, state = resume_from[-1]
        model.load_state_dict(state)
    first_step, resume_kept_at = step, time.monotonic()
    problem = None
    try:
        for epoch in range(config.epochs):
            if resume_state is not None and (epoch + 1) * per_epoch <= first_step:
                continue  # trained before the interruption; its draws are in the kept generator state
            epoch_start = generator.get_state()
            if resume_state is not None and epoch == first_step // per_epoch:
                order, epoch_start = epoch_order(generator, resume_state, epoch, len(data.train_x))
                order = order.to(device)
            else:
                order = torch.randperm(len(data.train_x), generator=generator).to(device)
            for index in range(per_epoch):
                if epoch * per_epoch + index < first_step:
                    continue  # trained before the interruption (the order is drawn all the same)
                if should_stop():
                    keep_resume_point()
                    return _finish(model, data, True, None, step, keep_checkpoint())
                rate = schedule(config.learning_rate, step + 1)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                chosen = order[index * config.batch_size: (index + 1) * config.batch_size]
                inputs = augment(data.train_x[chosen], config.augmentation, generator)
                logits = model(inputs)
                loss = F.cross_entropy(logits, data.train_y[chosen])
                if not torch.isfinite(loss):
                    problem = (f"the loss became {loss.item()} at step {step}: the learning rate "
                               f"({config.learning_rate:g}) is probably too high")
                    return _finish(model, data, True, problem, step, keep_checkpoint())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                accuracy = float((logits.detach().argmax(1) == data.train_y[chosen]).float().mean())
                on_metrics(StepMetric(step, step / per_epoch, loss.item(), accuracy, rate))
                if step % validate_every == 0 or step == total:
                    val_loss, val_accuracy, probabilities = evaluate(model, data.val_x, data.val_y)
                    on_metrics(ValidationMetric(step, step / per_epoch, val_loss, val_accuracy))
                    final_probabilities = probabilities if step == total else None
                if step % histogram_every == 0:
                    on_metrics(_probe_histogram(model, probe_batch, step))
                if step % checkpoint_every == 0 or step == total:
                    keep_checkpoint()
                if time.monotonic() - resume_kept_at >= RESUME_EVERY_S and step < total:
                    keep_resume_point()
    except torch.OutOfMemoryError:
        problem = f"out of memory at step {step}: try a smaller batch, model or width, or the CPU"
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return _finish(model, data, True, problem, step, keep_checkpoint())
    return _finish(model, data, False, None, step, checkpoints, final_probabilities)


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _finish(model, data: Split, stopped: bool, problem: str | None, step: int, checkpoints,
            probabilities: torch.Tensor | None = None) -> TrainingResult:
    """The end-of-run figures; `probabilities` from the last validation when it was at this step."""
    classes = len(data.classes)
    try:
        if probabilities is None:
            _, _, probabilities = evaluate(model, data.val_x, data.val_y)
    except torch.OutOfMemoryError:  # the final evaluation is a luxury: keep the run and its message
        return TrainingResult(stopped, problem or "out of memory in the final evaluation", step,
                              np.zeros((classes, classes), np.int64), [], checkpoints, copy.deepcopy(model).cpu())
    predicted = probabilities.argmax(1)
    truth = data.val_y.cpu()
    confusion = torch.bincount(truth * classes + predicted.cpu(), minlength=classes * classes)
    wrong = torch.nonzero(predicted.cpu() != truth).flatten()
    confidence = probabilities.cpu()[wrong, predicted.cpu()[wrong]]
    worst = wrong[torch.argsort(confidence, descending=True)[:16]]
    return TrainingResult(
        stopped_early=stopped, problem=problem, steps=step,
        confusion=confusion.reshape(classes, classes).numpy(),
        wrong=[(int(i), int(truth[i]), int(predicted[i]), float(probabilities[i, predicted[i]])) for i in worst],
        checkpoints=checkpoints, model=copy.deepcopy(model).cpu().eval(),
    )
