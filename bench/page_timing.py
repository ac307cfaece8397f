"""The median time of a page's script run in AppTest, once its results are computed: the benches'
warm redraw (AppTest's own overhead included)."""

from __future__ import annotations

import statistics
import time


def median_run_ms(at, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    assert not at.exception, at.exception
    return statistics.median(times) * 1e3


def settled(at, jobs) -> None:
    """Runs the page until a run starts no job: a finished job (the model) may start the next (its capture)."""
    while True:
        before = set(jobs)
        at.run()
        for job in list(jobs.values()):
            job.thread.join()
        if set(jobs) == before:
            return
