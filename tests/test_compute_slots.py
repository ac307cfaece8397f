"""The server-wide slots for background work: a fair share per session, pausing at safe
points, the queue a page shows, and owners that notice a closed browser."""

import itertools
import math
import random
import threading
import time
import weakref

import pytest
from streamlit.testing.v1 import AppTest

from app.serving.background_jobs import BackgroundJob
from app.serving.compute_slots import ComputeSlots, Ticket, time_left
from app.serving.run_owner import RunOwner, owner_gone
from app.training.datasets import SOURCES, split
from app.training.loop import StepMetric, TrainingConfig, ValidationMetric, train
from app.training.runs import TrainingRun
from components.compute_slots import queue_rows
from components.server_state import SLOTS
from tests.conftest import app_at


def _wait_until(condition, seconds=30.0):
    """Polls a condition that other threads make true; the deadline only guards against a hang."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _settle(slots: ComputeSlots, tickets: list[Ticket]) -> None:
    """Every running job reaches its next safe point: those asked to, step aside."""
    for ticket in tickets:
        if ticket.state == "running" and slots.must_yield(ticket):
            slots.step_aside(ticket)


def _held(tickets: list[Ticket]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for ticket in tickets:
        counts[ticket.session] = counts.get(ticket.session, 0) + (ticket.state == "running")
    return counts


def test_a_session_alone_may_use_every_slot():
    slots = ComputeSlots(3)
    jobs = [Ticket(1, f"job {i}") for i in range(4)]
    for job in jobs:
        slots.join(job)
    assert [j.state for j in jobs] == ["running"] * 3 + ["waiting"]
    assert not any(slots.must_yield(j) for j in jobs)  # its own waiting job takes nothing from it
    assert slots.busy() == (3, 1) and slots.position(jobs[3]) == ("waiting", 1)


def test_a_newcomer_gets_the_slot_the_other_session_holds_beyond_its_share():
    slots = ComputeSlots(2)
    first, second, newcomer = Ticket(1, "A's first"), Ticket(1, "A's second"), Ticket(2, "B's")
    for ticket in (first, second, newcomer):
        slots.join(ticket)
    assert (first.state, second.state, newcomer.state) == ("running", "running", "waiting")
    assert not slots.must_yield(first) and slots.must_yield(second)  # the later of A's two yields
    slots.step_aside(second)  # at its next safe point
    assert (second.state, newcomer.state) == ("paused", "running")
    assert not slots.must_yield(first) and not slots.must_yield(newcomer)
    slots.leave(newcomer)
    assert second.state == "running"  # resumed: A is alone again
    # With three slots, A keeps two and B gets the free one: nobody needs to yield.
    slots = ComputeSlots(3)
    a1, a2, b1, b2 = Ticket(1, ""), Ticket(1, ""), Ticket(2, ""), Ticket(2, "")
    for ticket in (a1, a2, b1, b2):
        slots.join(ticket)
    assert [t.state for t in (a1, a2, b1, b2)] == ["running", "running", "running", "waiting"]
    assert not any(slots.must_yield(t) for t in (a1, a2, b1, b2))


def _cycle_oracle(arrivals: list[int]) -> list[tuple[int, int]]:
    """Round-robin by hand: sessions in the order they first came, each giving its next
    job in turn, skipping sessions with none left. Jobs are (session, index in session)."""
    queues: dict[int, list[tuple[int, int]]] = {}
    for session in arrivals:
        queues.setdefault(session, []).append((session, len(queues.get(session, []))))
    order = []
    while any(queues.values()):
        for jobs in queues.values():
            if jobs:
                order.append(jobs.pop(0))
    return order


@pytest.mark.parametrize("seed", range(20))
def test_one_slot_goes_round_robin_across_three_sessions(seed):
    rng = random.Random(seed)
    arrivals = [rng.randrange(3) for _ in range(rng.randrange(3, 12))]
    slots, counts, tickets = ComputeSlots(1), {}, []
    for session in arrivals:
        tickets.append(Ticket(session, f"{session}/{counts.get(session, 0)}"))
        counts[session] = counts.get(session, 0) + 1
        slots.join(tickets[-1])
    served = []
    while any(t.state != "left" for t in tickets):
        (running,) = [t for t in tickets if t.state == "running"]
        served.append(running)
        slots.leave(running)
    assert [t.work for t in served] == [f"{s}/{i}" for s, i in _cycle_oracle(arrivals)]


def _max_min_fair(demands: list[int], capacity: int) -> list[int]:
    """Brute force: of every way to deal min(capacity, total demand) slots within the
    demands, the one whose sorted shares are lexicographically largest."""
    total = min(capacity, sum(demands))
    ways = [a for a in itertools.product(*(range(d + 1) for d in demands)) if sum(a) == total]
    return max(sorted(a) for a in ways)


@pytest.mark.parametrize("seed", range(30))
def test_random_arrivals_and_departures_keep_a_max_min_fair_share(seed):
    rng = random.Random(seed)
    capacity = rng.randrange(1, 5)
    slots, tickets = ComputeSlots(capacity), []
    for _ in range(60):
        live = [t for t in tickets if t.state != "left"]
        if not live or rng.random() < 0.55:
            tickets.append(Ticket(rng.randrange(4), ""))
            slots.join(tickets[-1])
        else:
            slots.leave(rng.choice(live))
        _settle(slots, tickets)
        live = [t for t in tickets if t.state != "left"]
        held, demands = _held(live), {}
        for ticket in live:
            demands[ticket.session] = demands.get(ticket.session, 0) + 1
        assert sorted(held.values()) == _max_min_fair(list(demands.values()), capacity)
        running, waiting = slots.busy()
        assert running == sum(held.values()) <= capacity and waiting == len(live) - running
        assert waiting == 0 or running == capacity  # no slot idles while a job waits
        for session in demands:  # FIFO within a session: its earliest jobs are the ones running
            mine = [t for t in live if t.session == session]
            assert [t.state == "running" for t in mine] == sorted((t.state == "running" for t in mine), reverse=True)


def test_time_left_comes_from_progress_and_leaves_out_paused_time():
    assert time_left(0.25, 10.0) == 30.0 and time_left(0.5, 20.0) == 20.0 and time_left(1.0, 7.0) == 0.0
    assert time_left(0.0, 10.0) is None
    now = [0.0]
    slots = ComputeSlots(1, clock=lambda: now[0])
    job = Ticket(1, "LeNet-5 on Fashion-MNIST, 5 epochs")
    slots.join(job)
    now[0] = 10.0
    slots.report(job, 0.25)
    (entry,) = slots.listing()
    assert (entry.elapsed_s, entry.time_left_s) == (10.0, 30.0)
    other = Ticket(2, "")
    slots.join(other)
    assert not slots.must_yield(job)  # one slot: a session's first job is its share
    slots.leave(other)
    # Two slots, two jobs of session 1 and one of session 2: session 1's second job is
    # paused from t = 10 to t = 50; its clock stops meanwhile.
    slots = ComputeSlots(2, clock=lambda: now[0])
    first, second, newcomer = Ticket(1, "first"), Ticket(1, "second"), Ticket(2, "newcomer")
    now[0] = 0.0
    slots.join(first)
    slots.join(second)
    now[0] = 10.0
    slots.report(second, 0.25)
    slots.join(newcomer)
    slots.step_aside(second)
    now[0] = 50.0
    paused = next(e for e in slots.listing() if e.work == "second")
    assert (paused.state, paused.elapsed_s, paused.time_left_s) == ("paused", 10.0, 30.0)
    slots.leave(newcomer)
    now[0] = 60.0
    slots.report(second, 0.5)
    resumed = next(e for e in slots.listing() if e.work == "second")
    assert (resumed.state, resumed.elapsed_s, resumed.time_left_s) == ("running", 20.0, 20.0)


def test_the_queue_lists_who_runs_and_waits_for_what_without_names():
    now = [0.0]
    slots = ComputeSlots(2, clock=lambda: now[0])
    a1, a2 = Ticket(7, "LeNet-5 on Fashion-MNIST, 5 epochs"), Ticket(7, "MLP on Fashion-MNIST, 5 epochs")
    b1, c1 = Ticket(8, "Loss landscape of run 1, 21×21 points"), Ticket(9, "ResNet on Digits, 3 epochs")
    for ticket in (a1, a2, b1, c1):
        slots.join(ticket)
    now[0] = 120.0
    slots.report(a1, 0.5)
    slots.step_aside(a2)  # asked to: b1 and c1 wait while session 7 holds both slots
    entries = slots.listing()
    assert [(e.work, e.state, e.place) for e in entries] == [
        (a1.work, "running", None), (b1.work, "running", None), (c1.work, "waiting", 1), (a2.work, "paused", 2)]
    rows = queue_rows(entries, you=8)
    assert [row["Who"] for row in rows] == ["student 7", "you", "student 9", "student 7"]
    assert rows[0] == {"Who": "student 7", "Work": a1.work, "State": "running", "Done": "50%", "Time left": "2 min"}
    assert rows[2]["State"] == "waiting, place 1 in line" and rows[2]["Time left"] == "not known yet"
    assert rows[3]["State"] == "paused for fairness, place 2 in line" and rows[3]["Time left"] == "not known yet"
    slots.report(a2, 0.75)  # three quarters done in its 120 s with a slot: 40 s more once it has one again
    assert queue_rows(slots.listing(), you=8)[3]["Time left"] == "40 s once resumed"
    assert all(row["Who"] != "you" for row in queue_rows(entries, you=None))


def _queue_notice_alone():
    from components.compute_slots import queue_notice

    queue_notice(["running", "paused"])


def test_a_paused_session_is_told_why_and_sees_the_queue_with_itself_as_you():
    you, other = RunOwner(), RunOwner()
    tickets = [Ticket(you.number, "MLP on Digits, 6 epochs"), Ticket(other.number, "LeNet-5 on Fashion-MNIST")]
    try:
        for ticket in tickets:
            SLOTS.join(ticket)
        at = AppTest.from_function(_queue_notice_alone, default_timeout=60)
        at.session_state["_background_work_owner"] = you
        at.run()
        assert not at.exception and "Paused for fairness" in at.info[0].value
        table = at.dataframe[0].value
        assert list(table["Who"]) == ["you", f"student {other.number}"]
        assert list(table["Work"]) == [t.work for t in tickets]
        # Home, in a session without work of its own, lists the same jobs under the server's line.
        home = app_at(timeout_s=180)
        listed = [frame.value for frame in home.dataframe if "Who" in frame.value.columns]
        assert len(listed) == 1 and list(listed[0]["Who"]) == [f"student {you.number}", f"student {other.number}"]
    finally:
        for ticket in tickets:
            SLOTS.leave(ticket)


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        ComputeSlots(0)


def _looping_work(finish: threading.Event):
    """A job that reports progress and polls its safe point until `finish` is set."""

    def work(report, should_stop):
        steps = 0
        while not finish.is_set():
            if should_stop():
                return steps
            steps += 1
            report(min(0.99, steps / 1000), steps)
            finish.wait(0.005)  # pacing only, so that the loop does not take a whole core
        return steps

    return work


def test_a_job_of_a_session_holding_every_slot_pauses_for_a_newcomer_and_resumes_after():
    slots = ComputeSlots(2)
    a, b = RunOwner(), RunOwner()
    finish_a, finish_b = threading.Event(), threading.Event()
    a1 = BackgroundJob(_looping_work(finish_a), a, "A's first", slots)
    _wait_until(lambda: a1.snapshot().status == "running")
    a2 = BackgroundJob(_looping_work(finish_a), a, "A's second", slots)
    _wait_until(lambda: a2.snapshot().status == "running" and a2.snapshot().partial)
    b1 = BackgroundJob(_looping_work(finish_b), b, "B's", slots)
    _wait_until(lambda: b1.snapshot().partial is not None)  # B computes ...
    assert a2.snapshot().status == "paused" and a2.snapshot().place_in_line == 1  # ... while A's second waits
    assert a1.snapshot().status == "running" and a1.snapshot().active and a2.snapshot().active
    steps_when_paused = a2.snapshot().partial
    assert a2.snapshot().partial == steps_when_paused  # it really stands still
    finish_b.set()
    b1.thread.join(timeout=30)
    assert b1.snapshot().status == "finished"
    _wait_until(lambda: a2.snapshot().status == "running" and a2.snapshot().partial > steps_when_paused)
    finish_a.set()
    for job in (a1, a2):
        job.thread.join(timeout=30)
        assert job.snapshot().status == "finished"
    assert slots.busy() == (0, 0)


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
    slots, hold = ComputeSlots(1), Ticket(0, "another session's run")
    slots.join(hold)
    connected = [True]
    owner = RunOwner(lambda: connected[0], grace_s=0.1)
    finish = threading.Event()
    job = BackgroundJob(_looping_work(finish), owner, slots=slots)
    _wait_until(lambda: slots.busy() == (1, 1))
    snapshot = job.snapshot()
    assert (snapshot.status, snapshot.place_in_line, snapshot.partial) == ("queued", 1, None)
    slots.leave(hold)
    _wait_until(lambda: job.snapshot().partial is not None)
    assert job.snapshot().status == "running" and slots.busy() == (1, 0)
    connected[0] = False
    job.thread.join(timeout=10)
    assert not job.thread.is_alive() and job.snapshot().status == "stopped" and slots.busy() == (0, 0)


def test_jobs_stopped_while_queued_or_paused_leave_the_line():
    slots, a, b = ComputeSlots(2), RunOwner(), RunOwner()
    finish = threading.Event()
    a1 = BackgroundJob(_looping_work(finish), a, "A's first", slots)
    _wait_until(lambda: a1.snapshot().status == "running")
    a2 = BackgroundJob(_looping_work(finish), a, "A's second", slots)
    _wait_until(lambda: a2.snapshot().status == "running")
    b_hold = Ticket(b.number, "B's")
    slots.join(b_hold)
    _wait_until(lambda: a2.snapshot().status == "paused")
    a2.stop()
    a2.thread.join(timeout=30)
    assert a2.snapshot().status == "stopped" and slots.busy() == (2, 0)
    c = RunOwner()
    queued = BackgroundJob(_looping_work(finish), c, "C's", slots)
    _wait_until(lambda: slots.busy() == (2, 1))
    queued.stop()
    queued.thread.join(timeout=30)
    assert queued.snapshot().status == "stopped" and slots.busy() == (2, 0)
    assert [e.work for e in slots.listing()] == ["A's first", "B's"]
    finish.set()
    a1.thread.join(timeout=30)


def test_a_second_students_run_starts_before_the_first_students_pair_ends_and_the_paused_run_is_unchanged():
    data = split(SOURCES["Digits (8×8, scikit-learn)"].load(), 200, seed=0)
    slots, first_student, second_student = ComputeSlots(2), RunOwner(), RunOwner()
    long_config, paused_config = TrainingConfig(model="LeNet-5", epochs=500), TrainingConfig(model="MLP", epochs=6)
    pair = [TrainingRun("a", long_config, data, first_student, slots).start()]
    # Each run starts once the one before it trains: models are initialised from torch's global
    # generator, and two initialisations at once would interleave their draws.
    _wait_until(lambda: len(pair[0].snapshot().steps) > 0)
    pair.append(TrainingRun("b", paused_config, data, first_student, slots).start())
    _wait_until(lambda: len(pair[1].snapshot().steps) > 0)
    other = TrainingRun("c", TrainingConfig(model="MLP", epochs=500), data, second_student, slots).start()
    _wait_until(lambda: len(other.snapshot().steps) > 0)
    # The second student trains while both runs of the pair are still unfinished: one of them waits.
    assert [r.snapshot().status for r in pair] == ["running", "paused"]
    assert 0 < len(pair[1].snapshot().steps) < 6 * math.ceil(len(data.train_x) / paused_config.batch_size)
    assert [(e.session, e.work, e.state) for e in slots.listing()] == [
        (first_student.number, f"LeNet-5 on {data.dataset}, 500 epochs", "running"),
        (second_student.number, f"MLP on {data.dataset}, 500 epochs", "running"),
        (first_student.number, f"MLP on {data.dataset}, 6 epochs", "paused")]
    other.stop()
    pair[1].thread.join(timeout=120)  # resumed once the second student's run ended
    pair[0].stop()
    resumed = pair[1].snapshot()
    assert resumed.status == "finished"
    # Its state was kept while it waited: the same curve as the run trained in one go.
    metrics = []
    alone = train(paused_config, data, metrics.append)
    assert [m.loss for m in resumed.steps] == [m.loss for m in metrics if isinstance(m, StepMetric)]
    assert [m.loss for m in resumed.validations] == [m.loss for m in metrics if isinstance(m, ValidationMetric)]
    assert resumed.result.steps == alone.steps
