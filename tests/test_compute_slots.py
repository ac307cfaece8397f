"""The server-wide line for background work, and owners that notice a closed browser."""

import threading
import time
import weakref

import pytest

from app.background_jobs import BackgroundJob
from app.compute_slots import ComputeSlots
from app.run_owner import RunOwner, owner_gone


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_slots_serve_the_line_in_order_and_never_exceed_capacity():
    slots, started, peak, lock = ComputeSlots(2), [], [0], threading.Lock()
    release = threading.Event()
    holders = [object() for _ in range(6)]

    def worker(holder):
        assert slots.wait_for_slot(holder, lambda: False, poll_s=0.01)
        with lock:
            started.append(holder)
            peak[0] = max(peak[0], slots.busy()[0])
        release.wait()
        slots.release(holder)

    threads = []
    for holder in holders:  # join the line one after the other, so the order is known
        threads.append(threading.Thread(target=worker, args=(holder,)))
        threads[-1].start()
        _wait_until(lambda: slots.busy()[0] + slots.busy()[1] == len(threads))
    assert started == holders[:2]
    assert [slots.place_in_line(h) for h in holders] == [None, None, 1, 2, 3, 4]
    assert slots.busy() == (2, 4)
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert started == holders and peak[0] == 2 and slots.busy() == (0, 0)


def test_a_holder_that_stops_while_waiting_leaves_the_line():
    slots, first, second, third = ComputeSlots(1), object(), object(), object()
    assert slots.wait_for_slot(first, lambda: False)
    stop = threading.Event()
    results = {}
    waiting = [threading.Thread(target=lambda h=h, s=s: results.__setitem__(h, slots.wait_for_slot(h, s, 0.01)))
               for h, s in ((second, stop.is_set), (third, lambda: False))]
    for thread in waiting:
        thread.start()
        _wait_until(lambda: slots.busy()[1] == waiting.index(thread) + 1)
    stop.set()
    waiting[0].join(timeout=10)
    assert results[second] is False and slots.place_in_line(third) == 1
    slots.release(first)
    waiting[1].join(timeout=10)
    assert results[third] is True and slots.busy() == (1, 0)


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        ComputeSlots(0)


def test_an_owner_is_gone_only_after_its_browser_stayed_away_for_the_grace_period():
    connected = [True]
    owner = RunOwner(lambda: connected[0], grace_s=0.2)
    reference = weakref.ref(owner)
    assert not owner_gone(reference)
    connected[0] = False
    assert not owner_gone(reference)  # a reconnecting browser keeps its work
    connected[0] = True
    time.sleep(0.25)
    assert not owner_gone(reference)  # the clock restarts after a reconnection
    connected[0] = False
    assert not owner_gone(reference)
    time.sleep(0.25)
    assert owner_gone(reference)
    del owner
    assert owner_gone(reference)
    assert not RunOwner().gone()  # no connection to watch (a notebook): only collection ends it


def test_a_job_waits_in_line_then_runs_and_a_disconnected_owner_stops_it():
    slots, hold = ComputeSlots(1), object()
    assert slots.wait_for_slot(hold, lambda: False)
    connected = [True]
    owner = RunOwner(lambda: connected[0], grace_s=0.1)

    def work(report, should_stop):
        steps = 0
        while not should_stop():
            steps += 1
            report(0.0, steps)
            time.sleep(0.01)
        return steps

    job = BackgroundJob(work, owner, slots=slots)
    time.sleep(0.3)
    snapshot = job.snapshot()
    assert (snapshot.status, snapshot.place_in_line, snapshot.partial) == ("queued", 1, None)
    slots.release(hold)
    _wait_until(lambda: job.snapshot().partial is not None)
    assert job.snapshot().status == "running" and slots.busy() == (1, 0)
    connected[0] = False
    job.thread.join(timeout=10)
    assert not job.thread.is_alive() and job.snapshot().status == "cancelled" and slots.busy() == (0, 0)
