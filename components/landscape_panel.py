"""A landscape grid's controls on the page: the time it will take (timed on this server first),
start and cancel, progress; the results as they come."""

from __future__ import annotations

import streamlit as st

from app.landscape.subject import TrainedNetwork
from components.compute_slots import queue_notice
from components.deferred_work import result_or_progress
from components.landscape_jobs import (
    COARSE,
    HESSIAN_PRODUCTS,
    GridResult,
    GridSpec,
    calibration,
    cancel,
    estimate,
    job,
    start,
)

MAX_SECONDS = 600  # a grid estimated to take longer is refused


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def grid_panel(spec: GridSpec, networks: list[TrainedNetwork], label: str) -> list[GridResult] | None:
    """Cost estimate, start/cancel, progress; returns the results (partial while running)."""
    points = spec.resolution ** 2 * len(networks)
    snapshot = job(spec)
    active = bool(snapshot and snapshot.active)
    columns = st.columns([3, 1, 1])
    timings = [calibration(network, spec.evaluation_size, spec.curvature) for network in networks]
    timing = next((t for t in timings if t.status != "finished"), None)
    if timing is not None:
        with columns[0]:
            result_or_progress(timing, "Timing a few points on this server for the estimate:")
    else:
        costs = [t.result for t in timings]
        seconds = estimate(spec, costs).remaining_s()
        hessian = (f", then the Hessian's top eigenvalue (at most {HESSIAN_PRODUCTS} products each)"
                   if spec.curvature else "")
        columns[0].caption(f"{points:,} points{hessian}: about {_duration(seconds)} at the pace timed on this "
                           f"server ({costs[0].point_s * 1e3:.0f} ms per point); a {COARSE}×{COARSE} preview comes "
                           "first.")
        if seconds > MAX_SECONDS:
            st.error(f"About {seconds / 60:.0f} minutes: more than the {MAX_SECONDS // 60} allowed. Choose a "
                     "coarser grid or a smaller evaluation set.")
            return None
        # Callbacks, not `if st.button(...)`: a click that lands while a polling fragment reruns
        # would otherwise be lost; a callback runs before any rerun.
        columns[1].button(label, type="primary", key=f"start_{label}", on_click=start, args=(spec, networks, costs),
                          disabled=active)
    if active:
        columns[2].button("Cancel", key=f"cancel_{label}", on_click=cancel, args=(spec,))
    if snapshot is None:
        return None
    if snapshot.status == "failed":
        st.error(snapshot.error)
        return None
    queue_notice([snapshot.status])
    if snapshot.active:
        left = snapshot.partial.seconds_left if snapshot.partial is not None else None  # from the pace so far
        st.progress(snapshot.fraction, text=f"{snapshot.fraction:.0%} done" + (
            f", about {_duration(left)} left" if left is not None else ", starting…"))
    if snapshot.result is not None:
        return snapshot.result
    if snapshot.partial is None:
        return None
    return [snapshot.partial.latest] if snapshot.partial.index == 0 else None
