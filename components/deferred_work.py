"""Work too slow for a script run (seconds, not milliseconds), run as a background job that
the page polls: the control that asked for it answers at once with a progress bar, and the
figure appears when the work is done.

Measured with bench/interaction.py: a control whose script run computed a loss line (82
forward passes), a calibration with Hessian products or faithfulness curves held the page
for 3–48 s with a spinner only, and every other control of the page waited behind it.

A job computes one key once. Work that no session owns (a shipped network, a registry
model) is kept server-wide, so the class computes it once; work on a session's own data
(its training runs) stays in its session. Computations take a server-wide compute slot, so
they wait their turn like training runs and grids (app.serving.compute_slots); loading a model does
not (it takes its turn with the other forward passes: components.capture_cache.heavy_turn).

A page shows such work inside `live_section`: a fragment that reruns every second while a
job it shows is still running, and reruns the page once all have ended, so that the polling
stops with the work. Work asked for before the section (outside any section) is polled from
the section's first run; work first asked for inside it costs one more run of the page to
start the polling.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import streamlit as st

from app.serving.background_jobs import BackgroundJob, JobSnapshot, Report
from components.compute_slots import queue_notice
from components.server_state import SHARED_JOBS, SHARED_JOBS_KEPT, SHARED_JOBS_LOCK, SLOTS
from components.session_owner import session_owner

POLL_S = 1.0
# Work that ends within this is waited for in the script run: a progress bar that flashes for a
# moment, and a poll a second later, would make quick work slower to see.
QUICK_S = 0.4
_SESSION_KEEP = 16
_SESSION_JOBS = "deferred_jobs"
_SECTIONS = "live_sections"  # section name -> the jobs it showed in its last run
_PENDING = "deferred_pending"  # jobs asked for outside a section: the next section polls them
_SUBJECTS = "live_subjects"  # section name -> what its work was about in the last run

_shown = threading.local()  # the jobs shown by the live section running on this thread


def _fresh(job: BackgroundJob | None) -> bool:
    """Whether a job stands for its key: running, or ended with a result. A stopped job
    (its owner left) is started again by whoever asks next."""
    return job is not None and job.snapshot().status != "stopped"


def deferred(key: Hashable, work: Callable[[Report, Callable[[], bool]], object], name: str,
             shared: bool, slot: bool = True, keep: bool = True, wait_s: float = 0.0) -> JobSnapshot:
    """The state of the job that computes `key` (started here if none has): `work(report,
    should_stop)` as for app.serving.background_jobs; `name` says what it computes, in the queue;
    `slot`: it waits for a compute slot; `keep=False`: a job that has ended is forgotten once
    its state was read (its work keeps the result elsewhere, which may drop it later); `wait_s`:
    the state once the job has ended or after that many seconds, whichever comes first."""
    def start() -> BackgroundJob:
        return BackgroundJob(work, session_owner(), name=name, slots=SLOTS if slot else None)

    if shared:
        with SHARED_JOBS_LOCK:
            job = _job_in(SHARED_JOBS, key, start, keep, SHARED_JOBS_KEPT)
    else:
        job = _job_in(st.session_state.setdefault(_SESSION_JOBS, OrderedDict()), key, start, keep, _SESSION_KEEP)
    if wait_s:
        job.thread.join(wait_s)
    return watch(job)


def finish_or_stop(key: Hashable, work: Callable[[Report, Callable[[], bool]], object], name: str) -> None:
    """Returns once `work`, run as a server-wide job, has ended. Work not done within QUICK_S
    shows its progress (`name`: what it does) and stops the page here; the page reruns when the
    work ends. For work whose result its function keeps in a server-wide cache (a model loaded,
    a capture), which the caller then reads; if the work failed, the caller runs it again in the
    script, where its error is reported like any other. It takes no compute slot: it takes its
    turn with the other forward passes (components.capture_cache.heavy_turn)."""
    def state(wait_s: float = 0.0) -> JobSnapshot:
        return deferred(key, work, name, shared=True, slot=False, keep=False, wait_s=wait_s)

    if state(QUICK_S).status in ("finished", "failed"):
        return

    def body() -> None:
        snapshot = state()
        if snapshot.status == "running":  # one call, no fraction to show: the seconds it has taken
            st.progress(0.0, text=f"{name}… {snapshot.seconds:.0f} s")
        else:
            result_or_progress(snapshot, f"{name}:")

    live_section(name, body)
    st.stop()


def _job_in(jobs: OrderedDict, key: Hashable, start: Callable[[], BackgroundJob], keep: bool,
            most: int) -> BackgroundJob:
    """The job for `key` in `jobs` (server-wide or the session's), started when none stands for
    it; ended jobs beyond `most` are dropped, oldest first."""
    job = jobs.get(key)
    if not _fresh(job):
        job = jobs[key] = start()
    jobs.move_to_end(key)
    if not keep and not job.snapshot().active:
        del jobs[key]
    while len(jobs) > most and _drop_oldest_ended(jobs):
        pass
    return job


def _drop_oldest_ended(jobs: OrderedDict) -> bool:
    for key, job in jobs.items():
        if not job.snapshot().active:
            del jobs[key]
            return True
    return False  # every job still runs: none is dropped


def watch(job: BackgroundJob) -> JobSnapshot:
    """The job's state now; inside a live section, the section polls while the job runs."""
    shown = getattr(_shown, "jobs", None)
    if shown is not None:
        shown.append(job)
    else:
        st.session_state.setdefault(_PENDING, []).append(job)
    return job.snapshot()


def progress(snapshot: JobSnapshot, text: str) -> None:
    """A running job's bar, or why it waits for the server."""
    queue_notice([snapshot.status])
    if snapshot.status in ("running", "paused"):
        st.progress(snapshot.fraction, text=f"{text} {snapshot.fraction:.0%}")
    elif snapshot.status == "queued":
        st.progress(0.0, text=f"{text} waiting for a free slot")


def result_or_progress(snapshot: JobSnapshot, text: str):
    """The job's result; or its progress bar, or its error, and None."""
    if snapshot.status == "finished":
        return snapshot.result
    if snapshot.status == "failed":
        st.error(f"{text} failed: {snapshot.error}")
    else:
        progress(snapshot, text)
    return None


def _any_active(jobs: list[BackgroundJob]) -> bool:
    return any(job.snapshot().active for job in jobs)


def _stop_superseded(before: list[BackgroundJob], now: list[BackgroundJob]) -> None:
    """Stops this session's jobs that its section no longer shows (the student chose another
    class or network): they would only take the cores from the work now on screen. A job
    another session still wants is started again by that session."""
    me, current = session_owner().number, {id(job) for job in now}
    for job in before:
        if id(job) not in current and job.session == me and job.snapshot().active:
            job.stop()


def leave_subject(name: str, subject: Hashable) -> None:
    """Stops this session's jobs shown by section `name` as soon as the page is about another
    `subject` (an image, model and class), before the page computes anything for the new one.
    The section itself stops them only at its end: until then the old work held the cores and
    the model, and the new class's Grad-CAM waited behind it (measured: 1.4 s instead of 0.3 s)."""
    subjects = st.session_state.setdefault(_SUBJECTS, {})
    if name in subjects and subjects[name] != subject:
        _stop_superseded(st.session_state.get(_SECTIONS, {}).get(name, []), [])
    subjects[name] = subject


def live_section(name: str, body: Callable[[], None]) -> None:
    """Runs `body` in its own container and fragment, polled while a job it shows runs."""
    sections = st.session_state.setdefault(_SECTIONS, {})
    pending = st.session_state.pop(_PENDING, [])
    polling = _any_active([*sections.get(name, []), *pending])

    @st.fragment(run_every=POLL_S if polling else None)
    def section():
        _shown.jobs = shown = []
        try:
            body()
        finally:
            _shown.jobs = None
        shown = [*shown, *pending]
        _stop_superseded(sections.get(name, []), shown)
        sections[name] = shown
        if _any_active(shown) != polling:  # start or stop the polling
            st.rerun()

    # Keyed: its own place, and so its own fragment id; tests find work in progress by the key.
    with st.container(key="live_" + re.sub(r"[^A-Za-z0-9_-]", "_", name)):
        section()
