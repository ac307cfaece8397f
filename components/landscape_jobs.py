"""The loss-landscape page's subjects (shipped networks, this session's finished runs)
and its grid computations, which run as background jobs kept in the session."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.background_jobs import BackgroundJob
from app.landscape import (
    PathPlane,
    Surface,
    evaluate_grid,
    filter_normalized_direction,
    loss_and_accuracy,
    pca_directions,
)
from app.landscape_subject import Subject, subject_from_fields, subject_from_run
from app.training_data import SOURCES, DatasetState, split
from components.compute_slots import SLOTS
from components.device_picker import current_device
from components.session_owner import session_owner
from components.training_session import session_runs
from pretrained.landscape_models import SHIPPED, load

MAX_SECONDS = 600  # a grid estimated to take longer is refused
COARSE = 9  # points per side of the sub-grid computed first, drawn while the rest fills in
_JOBS = "landscape_jobs"


@dataclass(frozen=True)
class GridSpec:
    subject_keys: tuple[str, ...]  # one, or two side by side with the same directions
    directions: str  # "random" or "pca"
    seed: int
    resolution: int
    span: float  # α and β from −span to +span (random directions)
    evaluation_size: int | None


@st.cache_resource(max_entries=2, show_spinner=False)
def _shipped_split(device: str):
    # The same split the shipped networks were trained with (pretrained/train_landscape_models.py).
    return split(SOURCES["Fashion-MNIST"].load(), 2000, seed=0, device=device)


@st.cache_resource(max_entries=4, show_spinner=False)
def _shipped_subject(key: str, device: str) -> Subject:
    trained = load(key)
    return subject_from_fields(key, trained.title, trained.config_fields, trained.final, trained.path,
                               _shipped_split(device))


def subjects() -> dict[str, str]:
    """Key -> title of every network the page can use now."""
    choices = {}
    if SOURCES["Fashion-MNIST"].status().state is DatasetState.READY:
        choices.update({key: f"{m.title} (shipped)" for key, m in SHIPPED.items()})
    for run in session_runs():
        snapshot = run.snapshot()
        if snapshot.result is not None and snapshot.result.problem is None:  # not a diverged run
            choices[f"run:{run.label}"] = f"{run.label} of Live training ({snapshot.config.model}, " \
                                          f"BN {'on' if snapshot.config.batch_norm else 'off'})"
    return choices


def subject(key: str) -> Subject:
    if not key.startswith("run:"):
        with st.spinner("Loading the network and its data…"):
            return _shipped_subject(key, str(current_device()))
    run = next(r for r in session_runs() if f"run:{r.label}" == key)
    snapshot = run.snapshot()
    cache = st.session_state.setdefault("landscape_run_subjects", {})
    if key not in cache:
        cache[key] = subject_from_run(key, run.label, snapshot.config, snapshot.result, run.data)
    return cache[key]


def seconds_per_point(subject: Subject, size: int | None) -> float:
    """One forward pass of the evaluation set, measured: what a grid point costs."""
    data, network = subject.evaluation(size), subject.network()
    loss_and_accuracy(network, subject.final, data)  # warm
    start = time.perf_counter()
    loss_and_accuracy(network, subject.final, data)
    return time.perf_counter() - start


def _grid_axes(spec: GridSpec, plane: PathPlane | None) -> tuple[np.ndarray, np.ndarray]:
    if plane is None:
        axis = np.linspace(-spec.span, spec.span, spec.resolution)
        return axis, axis
    # The path's plane: a square around the projected path, with a margin.
    low, high = plane.coordinates.min(axis=0), plane.coordinates.max(axis=0)
    margin = 0.25 * (high - low).max()
    centre, half = (low + high) / 2, (high - low).max() / 2 + margin
    return (np.linspace(centre[0] - half, centre[0] + half, spec.resolution),
            np.linspace(centre[1] - half, centre[1] + half, spec.resolution))


def compute(spec: GridSpec, chosen: list[Subject]):
    """The job's work: every subject's surface on the same kind of plane, coarse points first."""

    def work(report, should_stop):
        results = []
        total = spec.resolution ** 2 * len(chosen)
        for index, current in enumerate(chosen):
            plane = pca_directions(current.path) if spec.directions == "pca" else None
            directions = plane.directions if plane else (filter_normalized_direction(current.final, spec.seed),
                                                         filter_normalized_direction(current.final, spec.seed + 1))
            alphas, betas = _grid_axes(spec, plane)
            partial = Surface(alphas, betas, np.full((len(betas), len(alphas)), np.nan),
                              np.full((len(betas), len(alphas)), np.nan))

            def on_point(i, j, loss, accuracy, done, index=index, partial=partial):
                partial.loss[i, j], partial.accuracy[i, j] = loss, accuracy
                report((index * spec.resolution ** 2 + done) / total, (index, partial, plane))

            surface = evaluate_grid(current.network(), current.final, directions, current.evaluation(spec.evaluation_size),
                                    alphas, betas, on_point, should_stop, coarse_first=COARSE)
            results.append((surface, plane))
            if should_stop():
                break
        return results

    return work


def any_running() -> bool:
    """Whether a job of this session is queued or running (the page polls while one is)."""
    return any(j.snapshot().active for j in st.session_state.get(_JOBS, {}).values())


def job(spec: GridSpec) -> BackgroundJob | None:
    return st.session_state.setdefault(_JOBS, {}).get(spec)


def start(spec: GridSpec, chosen: list[Subject]) -> BackgroundJob:
    jobs = st.session_state.setdefault(_JOBS, {})
    for other in jobs.values():  # one grid at a time per session: two would only share the cores
        other.cancel()
    grid = f"{spec.resolution}×{spec.resolution} points"
    work = f"Loss landscape of {' and '.join(s.title for s in chosen)}, {grid}"
    jobs[spec] = BackgroundJob(compute(spec, chosen), session_owner(), name=work, slots=SLOTS)
    while len(jobs) > 6:
        jobs.pop(next(iter(jobs)))
    return jobs[spec]
