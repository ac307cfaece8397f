"""The loss-landscape page's subjects (shipped networks, the workspace's finished runs)
and its grid computations, which run as background jobs kept in the session; a finished
grid is kept in the workspace, so a reload or a restart shows it without computing it again."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.landscape.grid import (
    LossGrid,
    PathPlane,
    evaluate_grid,
    flatten,
)
from app.landscape.lines import LINE_POINTS, Lines, subject_lines
from app.landscape.plane import plane_axes, plane_of, random_directions
from app.landscape.records import grid_bytes, grid_from
from app.landscape.sharpness import TopEigenvalue, hessian_vector_product, top_hessian_eigenvalue
from app.landscape.subject import TrainedNetwork, subject_from_fields, subject_from_run
from app.landscape.timing import JobEstimate, Phase, seconds_per_point, seconds_per_product
from app.serving.background_jobs import BackgroundJob, JobSnapshot
from app.training.datasets import SOURCES, DatasetState, split
from components.deferred_work import deferred, watch
from components.device_picker import current_device
from components.server_state import LANDSCAPE_POINT_TIMINGS, SHIPPED_SPLITS, SHIPPED_SUBJECTS, SLOTS
from components.session_owner import session_owner
from components.training_session import loaded_dataset, workspace_runs
from components.workspace import keep_result, kept_result
from pretrained.landscape_models import SHIPPED, load

COARSE = 9  # points per side of the sub-grid computed first, drawn while the rest fills in
HESSIAN_PRODUCTS = 20  # at most this many Hessian-vector products per network (power iteration)
HESSIAN_TOLERANCE = 1e-3  # relative change of the eigenvalue estimate at which it stops
_JOBS = "landscape_jobs"
_KEPT = "_landscape_grids_kept"  # specs whose finished grid this session wrote to the workspace
_READ = "_landscape_grids_read"  # spec -> the finished snapshot read back from the workspace


@dataclass(frozen=True)
class GridSpec:
    subject_keys: tuple[str, ...]  # one, or two side by side with the same directions
    directions: str  # "random" or "pca"
    seed: int
    resolution: int
    span: float  # α and β from −span to +span (random directions)
    evaluation_size: int | None
    curvature: bool = False  # also the top Hessian eigenvalue at each network's trained weights


@dataclass(frozen=True, eq=False)
class GridResult:
    surface: LossGrid  # NaN where not computed (yet)
    plane: PathPlane | None  # the path's plane, for PCA directions
    top_eigenvalue: TopEigenvalue | None = None  # with GridSpec.curvature, once measured


@dataclass(frozen=True, eq=False)
class GridProgress:
    index: int  # which subject is being computed
    latest: GridResult
    seconds_left: float


def _shipped_split(device: str):
    # The same split the shipped networks were trained with (recipes/train_landscape_models.py).
    return SHIPPED_SPLITS.get(device, lambda: split(loaded_dataset("Fashion-MNIST"), 2000, seed=0, device=device))


def _shipped_subject(key: str, device: str) -> TrainedNetwork:
    def build() -> TrainedNetwork:
        trained = load(key)
        return subject_from_fields(key, trained.title, trained.config_fields, trained.final, trained.path,
                                   _shipped_split(device))

    return SHIPPED_SUBJECTS.get((key, device), build)


def subjects() -> dict[str, str]:
    """Key -> title of every network the page can use now."""
    choices = {}
    if SOURCES["Fashion-MNIST"].status().state is DatasetState.READY:
        choices.update({key: f"{m.title} (shipped)" for key, m in SHIPPED.items()})
    for run in workspace_runs():
        snapshot = run.snapshot()
        if snapshot.result is not None and snapshot.result.problem is None:  # not a diverged run
            choices[f"run:{run.label}"] = f"{run.label} of Live training ({snapshot.config.model}, " \
                                          f"BN {'on' if snapshot.config.batch_norm else 'off'})"
    return choices


def subject(key: str) -> TrainedNetwork:
    if not key.startswith("run:"):
        with st.spinner("Loading the network and its data…"):
            return _shipped_subject(key, str(current_device()))
    run = next(r for r in workspace_runs() if f"run:{r.label}" == key)
    snapshot = run.snapshot()
    cache = st.session_state.setdefault("landscape_run_subjects", {})
    if key not in cache:
        cache[key] = subject_from_run(key, run.label, snapshot.config, snapshot.result, run.data)
    return cache[key]


@dataclass(frozen=True)
class Calibration:
    """What work costs on this server, timed on the network and sample itself."""

    point_s: float  # one grid point
    product_s: float | None  # one Hessian-vector product, when timed


def _shared(chosen: TrainedNetwork) -> bool:
    """Whether work on this subject is the same for every session (a shipped network)."""
    return not chosen.key.startswith("run:")


def _measure(chosen: TrainedNetwork, size: int | None, curvature: bool):
    def work(report, should_stop) -> Calibration:
        data, network = chosen.evaluation(size), chosen.network()
        report(0.0, None)
        point = seconds_per_point(network, chosen.final, random_directions(chosen, 0), data)
        report(0.5 if curvature else 1.0, None)
        product = seconds_per_product(hessian_vector_product(network, chosen.final, data),
                                      flatten(chosen.final).numel()) if curvature and not should_stop() else None
        return Calibration(point, product)

    return work


def calibration(chosen: TrainedNetwork, size: int | None, curvature: bool = False) -> JobSnapshot:
    """The timing of a few points (and Hessian products) once per network, device and sample
    size. With Hessian products it takes tens of seconds: a background job. A few points alone
    take a fraction of a second: timed here, in the script run."""
    device = str(current_device())
    # Timed again every ten minutes: the server's load changes, and with it the pace.
    period = int(time.time() // 600)
    key = ("landscape calibration", chosen.key, device, size, curvature, period)
    if curvature:
        return deferred(key, _measure(chosen, size, curvature), f"Timing {chosen.title}", _shared(chosen))
    if not _shared(chosen):  # a session's own run: its timing stays in the session
        key = (session_owner().number, *key)
    with st.spinner("Timing a few points on this server…"):
        cost = LANDSCAPE_POINT_TIMINGS.get(key, lambda: _measure(chosen, size, False)(lambda *_: None, lambda: False))
    return JobSnapshot("finished", 1.0, None, cost, None, 0.0)


def estimate(spec: GridSpec, costs: list[Calibration]) -> JobEstimate:
    """The job's phases at their calibrated costs: each network's grid, then its power iteration."""
    phases = []
    for cost in costs:
        phases.append(Phase(spec.resolution ** 2, cost.point_s))
        if spec.curvature:
            phases.append(Phase(HESSIAN_PRODUCTS, cost.product_s))
    return JobEstimate(phases)


def _lines(chosen: TrainedNetwork, size: int | None, seed: int):
    def work(report, should_stop) -> Lines:
        done = []

        def step():
            done.append(1)
            report(len(done) / (2 * LINE_POINTS), None)

        return subject_lines(chosen, size, seed, step, should_stop)

    return work


def lines(chosen: TrainedNetwork, size: int | None, seed: int) -> JobSnapshot:
    """The two lines' 2 × 41 exact points, as a background job."""
    return deferred(("landscape lines", chosen.key, str(current_device()), size, seed), _lines(chosen, size, seed),
                    f"Loss lines of {chosen.title}", _shared(chosen))


def compute(spec: GridSpec, chosen: list[TrainedNetwork], timing: JobEstimate):
    """The job's work: every subject's surface on the same kind of plane, coarse points
    first, then (with spec.curvature) the top Hessian eigenvalue at its trained weights."""
    phases_each = 2 if spec.curvature else 1

    def work(report, should_stop):
        timing.start()
        results = []
        for index, current in enumerate(chosen):
            directions, plane = plane_of(current, spec.directions, spec.seed)
            alphas, betas = plane_axes(spec.resolution, spec.span, plane)
            partial = GridResult(LossGrid(alphas, betas, np.full((len(betas), len(alphas)), np.nan),
                                         np.full((len(betas), len(alphas)), np.nan)), plane)
            data, phase = current.evaluation(spec.evaluation_size), index * phases_each

            def progress(phase=phase, index=index, partial=partial):
                timing.step_done(phase)
                report(timing.fraction_done(), GridProgress(index, partial, timing.remaining_s()))

            def on_point(i, j, loss, accuracy, done, partial=partial, progress=progress):
                partial.surface.loss[i, j], partial.surface.accuracy[i, j] = loss, accuracy
                progress()

            surface = evaluate_grid(current.network(), current.final, directions, data, alphas, betas, on_point,
                                    should_stop, coarse_first=COARSE)
            top = None
            if spec.curvature and not should_stop():
                top = top_hessian_eigenvalue(current.network(), current.final, data, HESSIAN_PRODUCTS,
                                             HESSIAN_TOLERANCE, seed=spec.seed,
                                             on_product=lambda phase=phase: progress(phase + 1),
                                             should_stop=should_stop)
                timing.finish(phase + 1)
            results.append(GridResult(surface, plane, top))
            if should_stop():
                break
        return results

    return work


def job(spec: GridSpec) -> JobSnapshot | None:
    """The state of this session's job for `spec`, if it started one (watched: see
    components.deferred_work.live_section), else the grid the workspace kept, if any."""
    current = st.session_state.setdefault(_JOBS, {}).get(spec)
    if current is None:
        return _kept_grid(spec)
    snapshot = watch(current)
    if snapshot.status == "finished" and snapshot.result is not None:
        _keep_grid(spec, snapshot)
    return snapshot


def _grid_key(spec: GridSpec) -> str:
    return "grid:" + json.dumps(dataclasses.asdict(spec), sort_keys=True)


def _keep_grid(spec: GridSpec, snapshot: JobSnapshot) -> None:
    kept = st.session_state.setdefault(_KEPT, set())
    if spec in kept:
        return
    kept.add(spec)
    keep_result(_grid_key(spec), grid_bytes(snapshot.result), "This grid", seconds=snapshot.seconds)


def _kept_grid(spec: GridSpec) -> JobSnapshot | None:
    read = st.session_state.setdefault(_READ, {})
    if spec not in read:
        snapshot = kept_result(_grid_key(spec), lambda data, fields: JobSnapshot(
            "finished", 1.0, None, grid_from(data, GridResult), None, fields["seconds"]), "A grid", "compute it again")
        if snapshot is None:
            return None
        read[spec] = snapshot
    return read[spec]


def cancel(spec: GridSpec) -> None:
    current = st.session_state.get(_JOBS, {}).get(spec)
    if current is not None:
        current.stop()


def start(spec: GridSpec, chosen: list[TrainedNetwork], costs: list[Calibration]) -> BackgroundJob:
    jobs = st.session_state.setdefault(_JOBS, {})
    for other in jobs.values():  # one grid at a time per session: two would only share the cores
        other.stop()
    grid = f"{spec.resolution}×{spec.resolution} points"
    work = f"Loss landscape of {' and '.join(s.title for s in chosen)}, {grid}"
    jobs[spec] = BackgroundJob(compute(spec, chosen, estimate(spec, costs)), session_owner(), name=work,
                               slots=SLOTS)
    while len(jobs) > 6:
        jobs.pop(next(iter(jobs)))
    return jobs[spec]
