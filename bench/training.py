"""The app's training loop (metrics reported, validation, batch-norm probe, checkpoints,
every metric and checkpoint written to a workspace store, a poller reading it as the page
does) against a bare PyTorch loop, in one run.

    .venv/bin/python -m bench.training [--steps 600] [--rounds 3]

The same model (LeNet-5), data (Fashion-MNIST, or the scikit-learn digits
without it), batch size (64) and number of steps, on whatever device
app.serving.devices picks. Every torch call runs off the main thread, as in the
Streamlit server (script runs and training are threads): once the main thread
has run torch, its idle OpenMP team makes other threads' training 1.7× slower
on this 2-core machine. Last line: training: ui_throughput_ratio=X steps_per_s=Y
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from app.serving.allocator import keep_freed_memory
from app.serving.devices import best_device
from app.serving.run_owner import RunOwner
from app.training.datasets import SOURCES, split
from app.training.fashion_mnist import fashion_mnist_dir
from app.training.journal import RunJournal
from app.training.loop import TrainingConfig
from app.training.networks import build
from app.training.records import DataChoice, metrics_from
from app.training.runs import TrainingRun
from app.workspace.sqlite_store import SQLiteStore


def bare_loop(data, config: TrainingConfig, steps: int) -> float:
    """Seconds for `steps` plain steps: shuffle, forward, loss, backward, step."""
    torch.manual_seed(config.seed)
    model = build(config.model, tuple(data.train_x.shape[1:]), len(data.classes)).to(data.train_x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    per_epoch = math.ceil(len(data.train_x) / config.batch_size)
    start = time.perf_counter()
    step = 0
    while step < steps:
        order = torch.randperm(len(data.train_x)).to(data.train_x.device)
        for index in range(per_epoch):
            chosen = order[index * config.batch_size: (index + 1) * config.batch_size]
            loss = F.cross_entropy(model(data.train_x[chosen]), data.train_y[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step == steps:
                break
    if data.train_x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def app_loop(data, config: TrainingConfig, store: SQLiteStore) -> tuple[float, int]:
    """Seconds and steps of a TrainingRun written to `store` as the page's are, with a poller
    copying snapshots twice a second."""
    workspace = store.create_workspace()
    choice = DataChoice(data.dataset, len(data.val_y), None, len(data.train_y), len(data.val_y))
    run = TrainingRun("bench", config, data, owner := RunOwner(),
                      journal=RunJournal(store, workspace, "bench", config, choice))
    polled = []

    def poll():
        while run.thread is None or run.thread.is_alive():
            polled.append(len(run.snapshot().steps))
            time.sleep(0.5)

    start = time.perf_counter()
    run.start()
    poller = threading.Thread(target=poll)
    poller.start()
    run.thread.join()
    seconds = time.perf_counter() - start
    poller.join()
    del owner
    snapshot = run.snapshot()
    assert snapshot.status == "finished", snapshot.problem
    kept = store.run(workspace, "bench")
    assert kept.status == "finished" and sum(type(m).__name__ == "StepMetric"
                                             for m in metrics_from(kept.metric_chunks)) == len(snapshot.steps)
    return seconds, len(snapshot.steps)


def in_thread(function, *args):
    """Runs `function` in a fresh thread (see the module's note on the main thread) and returns its result."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function(*args)))
    thread.start()
    thread.join()
    return result["value"]


def prepare(requested_steps: int):
    device = best_device()
    name = "Fashion-MNIST" if fashion_mnist_dir() else "Digits (8×8, scikit-learn)"
    data = split(SOURCES[name].load(), 2000 if name == "Fashion-MNIST" else 300, seed=0, device=device)
    per_epoch = math.ceil(len(data.train_x) / 64)
    epochs = max(1, round(requested_steps / per_epoch))
    return name, data, TrainingConfig(model="LeNet-5", epochs=epochs, batch_size=64, learning_rate=1e-3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5, help="bare and app loops alternated; the median ratio")
    args = parser.parse_args()
    keep_freed_memory()
    # The main thread only coordinates: every torch call happens in a thread that then ends.
    name, data, config = in_thread(prepare, args.steps)
    steps = config.epochs * math.ceil(len(data.train_x) / config.batch_size)
    in_thread(bare_loop, data, config, 20)  # warm-up
    # Alternated, each app run against the bare run just before it, the median of those ratios:
    # the machine drifts (the same bare loop took 5.7 s, then 6.7 s, an hour apart), and one
    # run of each drifted by ±0.08 in the ratio.
    bares, apps = [], []
    for _ in range(args.rounds):
        bares.append(in_thread(bare_loop, data, config, steps))
        with tempfile.TemporaryDirectory() as folder:
            app_seconds, app_steps = app_loop(data, config, SQLiteStore(Path(folder)))
        assert app_steps == steps
        apps.append(app_seconds)
    ratio = statistics.median(b / a for b, a in zip(bares, apps))
    bare, app_seconds = statistics.median(bares), statistics.median(apps)
    print("rounds (bare s, app s): " + ", ".join(f"({b:.2f}, {a:.2f})" for b, a in zip(bares, apps)))
    print(f"{name}, {len(data.train_x)} training images, LeNet-5, batch 64, {steps} steps on {data.train_x.device}")
    print(f"bare loop {bare:.2f} s ({steps / bare:.0f} steps/s); app loop {app_seconds:.2f} s "
          f"({app_steps / app_seconds:.0f} steps/s) with validation, probe histograms and checkpoints, all written to a workspace store")
    print(f"training: ui_throughput_ratio={ratio:.3f} steps_per_s={app_steps / app_seconds:.0f}")


if __name__ == "__main__":
    main()
