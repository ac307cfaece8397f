"""Running one piece of work in several threads that start at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(work: Callable[[int], object], threads: int) -> list[BaseException]:
    """Calls `work(0)` … `work(threads - 1)` in as many threads, released together; returns the
    exceptions they raised (any one is what a test of concurrent use looks for)."""
    start, errors = threading.Barrier(threads), []

    def one(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)

    running = [threading.Thread(target=one, args=(index,)) for index in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return errors
