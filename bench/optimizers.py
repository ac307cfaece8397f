"""Six optimizers × 500 steps on Rosenbrock: the project's runner against torch.optim
in a Python loop (autograd for the gradient, as one would write it), in one run.

    .venv/bin/python -m bench.optimizers [--repeats 5]

Last line: optimizers: speedup_vs_torch_optim=X total_ms=Y
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from app.optim.optimizers import GD, AdaGrad, Adam, HeavyBall, Nesterov, RMSProp
from app.optim.surfaces import SURFACES
from app.optim.trajectories import run_optimizer

STEPS = 500
RATES = {"SGD": 1e-3, "Momentum": 1e-4, "Nesterov": 1e-4, "AdaGrad": 0.5, "RMSProp": 1e-2, "Adam": 5e-2}
OURS = {"SGD": GD(), "Momentum": HeavyBall(momentum=0.9), "Nesterov": Nesterov(momentum=0.9),
        "AdaGrad": AdaGrad(), "RMSProp": RMSProp(), "Adam": Adam()}
TORCH = {"SGD": lambda p, lr: torch.optim.SGD([p], lr=lr),
         "Momentum": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9),
         "Nesterov": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9, nesterov=True),
         "AdaGrad": lambda p, lr: torch.optim.Adagrad([p], lr=lr),
         "RMSProp": lambda p, lr: torch.optim.RMSprop([p], lr=lr),
         "Adam": lambda p, lr: torch.optim.Adam([p], lr=lr)}


def project_race(surface) -> dict:
    return {name: run_optimizer(surface, optimizer, surface.start, STEPS, RATES[name]) for name, optimizer in OURS.items()}


def torch_race(surface) -> dict:
    finals = {}
    for name, make in TORCH.items():
        parameter = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
        optimizer = make(parameter, RATES[name])
        for _ in range(STEPS):
            optimizer.zero_grad()
            surface.value(parameter[0], parameter[1], torch).backward()
            optimizer.step()
        finals[name] = parameter.detach().numpy()
    return finals


def median_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    surface = SURFACES["Rosenbrock"]
    ours = project_race(surface)
    theirs = torch_race(surface)
    worst = max(abs(ours[n].points[-1] - theirs[n]).max() for n in OURS)
    project_ms = median_ms(lambda: project_race(surface), args.repeats)
    torch_ms = median_ms(lambda: torch_race(surface), max(1, args.repeats // 2))
    print(f"6 optimizers × {STEPS} steps on Rosenbrock: project {project_ms:.1f} ms, torch.optim loop "
          f"{torch_ms:.0f} ms; largest difference of the final points {worst:.1e}")
    print(f"optimizers: speedup_vs_torch_optim={torch_ms / project_ms:.0f} total_ms={project_ms:.1f}")


if __name__ == "__main__":
    main()
