"""The loss-landscape grid against one bare forward, and against Li et al.'s way, in one run.

    .venv/bin/python -m bench.landscape

LeNet-5 (the shipped one, trained on Fashion-MNIST) on 1,000 validation images
(random data of that shape without the dataset). Every torch call runs off the
main thread, as in the app (see bench/training.py). The page's estimate (three
timed points, before the grid) is compared with the grid's real time, and the top
Hessian eigenvalue is timed as the side-by-side view computes it. Last line:
landscape: point_overhead=X grid21_s=Y first_picture_s=Z estimate_ratio=R hessian_s=H
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from app.landscape.grid import (
    EvaluationSet,
    evaluate_grid,
    filter_normalized_direction,
    loss_and_accuracy,
    per_example_losses,
    point_weights,
)
from app.landscape.sharpness import top_hessian_eigenvalue
from app.landscape.subject import subject_from_fields
from app.landscape.timing import seconds_per_point
from app.serving.allocator import keep_freed_memory
from app.training.datasets import SOURCES, Split, split
from app.training.fashion_mnist import fashion_mnist_dir
from app.training.networks import build
from bench.training import in_thread
from pretrained.landscape_models import load


def subject():
    if fashion_mnist_dir():
        trained = load("lenet")
        data = split(SOURCES["Fashion-MNIST"].load(), 2000, seed=0)
        return subject_from_fields("lenet", trained.title, trained.config_fields, trained.final, trained.path, data)
    generator = torch.Generator().manual_seed(0)
    images, labels = torch.rand(6000, 1, 28, 28, generator=generator), torch.randint(0, 10, (6000,), generator=generator)
    data = Split(images[2000:], labels[2000:], images[:2000], labels[:2000], tuple(str(i) for i in range(10)))
    model = build("LeNet-5", (1, 28, 28), 10).eval()
    state = model.state_dict()
    return subject_from_fields("random", "LeNet-5 (untrained, random data)", {"model": "LeNet-5"}, state,
                               [(0, state)], data)


def li_et_al_point(model: torch.nn.Module, state: dict, weights: dict, data: EvaluationSet) -> float:
    """Their loop's way for one point: write the weights into the model, then evaluate in mini-batches of 128."""
    model.load_state_dict({**state, **weights})
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(data), 128):
            logits = model(data.images[start: start + 128])
            total += float(torch.nn.functional.cross_entropy(logits, data.labels[start: start + 128], reduction="sum"))
    return total / len(data)


def measure() -> list[str]:
    chosen = subject()
    data, network = chosen.evaluation(1000), chosen.network()
    directions = (filter_normalized_direction(chosen.final, 0), filter_normalized_direction(chosen.final, 1))

    def bare():
        with torch.inference_mode():
            network(data.images)

    for _ in range(5):
        bare()
    forwards = []
    for _ in range(15):
        start = time.perf_counter()
        bare()
        forwards.append(time.perf_counter() - start)
    forward = statistics.median(forwards)

    axis = np.linspace(-1, 1, 21)
    estimate = seconds_per_point(network, chosen.final, directions, data) * len(axis) ** 2
    moments = {}
    start = time.perf_counter()

    def on_point(i, j, loss, accuracy, done):
        moments[done] = time.perf_counter() - start

    evaluate_grid(network, chosen.final, directions, data, axis, axis, on_point, coarse_first=9)
    grid_seconds = time.perf_counter() - start
    per_point = grid_seconds / len(axis) ** 2

    begin = time.perf_counter()
    top = top_hessian_eigenvalue(network, chosen.final, data, 20, 1e-3)
    hessian_seconds = time.perf_counter() - begin

    state = {k: v.clone() for k, v in network.state_dict().items()}
    li_times = []
    for alpha, beta in ((0.1, 0.2), (-0.3, 0.4), (0.5, -0.5)):
        weights = point_weights(chosen.final, directions, (alpha, beta))
        begin = time.perf_counter()
        li_et_al_point(network, state, weights, data)
        li_times.append(time.perf_counter() - begin)
    network.load_state_dict(state)

    rows = []
    for alpha, beta in ((0.0, 0.0), (0.5, 0.0), (-0.5, 0.5)):
        weights = point_weights(chosen.final, directions, (alpha, beta))
        sample = per_example_losses(network, weights, data)
        full = per_example_losses(network, weights, chosen.training)
        tolerance = 3 * float(sample.std()) / len(sample) ** 0.5
        rows.append(f"  ({alpha:+.1f}, {beta:+.1f}): sample {float(sample.mean()):.4f}, full training set "
                    f"({len(chosen.training):,}) {float(full.mean()):.4f}, |Δ| "
                    f"{abs(float(sample.mean()) - float(full.mean())):.4f} vs 3 s.e. {tolerance:.4f}")
    grid_loss, _ = loss_and_accuracy(network, chosen.final, data)
    return [
        f"{chosen.title}: 1,000 evaluation images, loss {grid_loss:.4f} at the trained weights",
        f"bare forward {forward * 1e3:.1f} ms; grid point {per_point * 1e3:.1f} ms; Li et al.'s per-point loop "
        f"{statistics.median(li_times) * 1e3:.1f} ms ({statistics.median(li_times) / forward:.2f}×)",
        f"estimated before the grid (3 timed points) {estimate:.1f} s, took {grid_seconds:.1f} s; "
        f"top Hessian eigenvalue {top.value:.4g} after {top.iterations} products ({hessian_seconds:.1f} s)",
        "sample against the whole training set (Li et al.'s evaluation set):", *rows,
        f"landscape: point_overhead={per_point / forward:.3f} grid21_s={grid_seconds:.1f} "
        f"first_picture_s={moments[81]:.2f} estimate_ratio={grid_seconds / estimate:.2f} "
        f"hessian_s={hessian_seconds:.1f}",
    ]


def main() -> None:
    keep_freed_memory()
    print("\n".join(in_thread(measure)))


if __name__ == "__main__":
    main()
