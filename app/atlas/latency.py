"""How long an architecture takes on this machine: its forward pass timed at batch 1 and at a
larger batch, on random weights (a network's speed does not depend on its weights' values).
FLOPs are not time: memory traffic, depthwise convolutions and the framework's overhead per
layer make the two rankings differ, which is what the atlas shows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.atlas.catalog import Architecture


@dataclass(frozen=True)
class Latency:
    batch: int
    seconds: float  # median of the timed passes, per batch
    device: str

    @property
    def images_per_s(self) -> float:
        return self.batch / self.seconds


def median_seconds(forward: Callable[[], object], device: torch.device, repeats: int) -> float:
    """The median of `repeats` timed calls after one untimed (warm-up) call; on a GPU each is
    waited for, as its kernels run asynchronously."""
    times = []
    with torch.inference_mode():
        for run in range(repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            forward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if run:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_latency(model: torch.nn.Module, arch: Architecture, batch: int, device: torch.device,
                    repeats: int) -> Latency:
    """`model` (built here for timing, used by nobody else) on a random batch."""
    images = torch.randn(batch, arch.channels, arch.input_size, arch.input_size, device=device)
    return Latency(batch, median_seconds(lambda: model(images), device, repeats), str(device))


def built_for_timing(arch: Architecture, device: torch.device) -> torch.nn.Module:
    return arch.build().eval().requires_grad_(False).to(device)
