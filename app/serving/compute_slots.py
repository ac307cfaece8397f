"""A server-wide cap on heavy background work, shared fairly between sessions.

Training runs and loss-landscape grids each take every core they are given; twenty
students starting them at once would make every one of them crawl. At most `capacity`
jobs hold a slot. Slots are dealt round-robin across sessions (each session's first
job, then each one's second, ...; FIFO within a session), so a session alone may use
every slot, but while another session waits none keeps more than its share: the extra
job gives its slot up at its next safe point (a training step, a grid point), waits
with its state kept, and resumes when a slot is its turn again.

A job's life with the slots: `wait_for_slot`, then `safe_point` between steps and
`report` of its progress, then `leave`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def time_left(fraction: float, elapsed_s: float) -> float | None:
    """Seconds still to go at the pace so far: elapsed × (1 − f) / f; None before any progress."""
    if not 0 < fraction <= 1:
        return None
    return elapsed_s * (1 - fraction) / fraction


@dataclass(eq=False)
class Ticket:
    """One job's claim on a slot: whose it is (a session's number, nothing personal) and
    what it computes, in words for the queue."""

    session: int
    work: str
    state: str = "new"  # "waiting", "running", "paused" (waiting again after yielding), "left"
    arrival: int = 0  # kept when paused, so that a paused job keeps its place in its session
    fraction: float = 0.0  # of the work done, as the job reports it
    held_s: float = 0.0  # time spent holding a slot, before the current hold
    held_since: float | None = None


@dataclass(frozen=True)
class QueueEntry:
    session: int
    work: str
    state: str  # "running", "waiting", "paused"
    place: int | None  # in line, 1 first; None while running
    fraction: float
    elapsed_s: float  # time holding a slot so far
    time_left_s: float | None


class ComputeSlots:
    def __init__(self, capacity: int, clock: Callable[[], float] = time.monotonic):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._clock = clock
        self._changed = threading.Condition()  # reentrant: the waiting methods call the others
        self._tickets: list[Ticket] = []  # in arrival order
        self._yielding: set[Ticket] = set()  # running tickets asked to give their slot up
        self._last_served: dict[int, int] = {}  # session -> when it was last granted a slot
        self._serial = itertools.count()

    # The policy: every change goes through these, under the lock, and rebalances.

    def join(self, ticket: Ticket) -> None:
        """Puts `ticket` in line; it may get a slot at once (see `ticket.state`)."""
        with self._changed:
            ticket.state, ticket.arrival = "waiting", next(self._serial)
            self._tickets.append(ticket)
            self._rebalance()

    def leave(self, ticket: Ticket) -> None:
        """The job ended or stopped: its slot or its place in line goes to the others."""
        with self._changed:
            if ticket not in self._tickets:
                return
            self._stop_holding(ticket)
            ticket.state = "left"
            self._tickets.remove(ticket)
            if not any(t.session == ticket.session for t in self._tickets):
                self._last_served.pop(ticket.session, None)  # a session coming back later is new
            self._rebalance()

    def step_aside(self, ticket: Ticket) -> None:
        """A running job gives its slot up and waits again, keeping its place in its session."""
        with self._changed:
            self._stop_holding(ticket)
            ticket.state = "paused"
            self._rebalance()

    def must_yield(self, ticket: Ticket) -> bool:
        with self._changed:
            return ticket in self._yielding

    def report(self, ticket: Ticket, fraction: float) -> None:
        with self._changed:
            ticket.fraction = fraction

    def _stop_holding(self, ticket: Ticket) -> None:
        if ticket.state == "running":
            ticket.held_s += self._clock() - ticket.held_since
            ticket.held_since = None

    def _round_robin(self) -> list[Ticket]:
        """Every ticket in the order slots go: each session's first job, then each one's
        second, ...; within a session, running jobs before waiting ones, then by arrival;
        within a round, running jobs first (no churn), then the session served longest
        ago. The first `capacity` are the fair holders."""
        sessions: dict[int, list[Ticket]] = {}
        for ticket in self._tickets:
            sessions.setdefault(ticket.session, []).append(ticket)
        for jobs in sessions.values():
            jobs.sort(key=lambda t: (t.state != "running", t.arrival))
        order = []
        for rank in range(max(map(len, sessions.values()), default=0)):
            round_ = [jobs[rank] for jobs in sessions.values() if rank < len(jobs)]
            round_.sort(key=lambda t: (t.state != "running", self._last_served.get(t.session, -1), t.arrival))
            order += round_
        return order

    def _rebalance(self) -> None:
        order = self._round_robin()
        fair = order[:self.capacity]
        self._yielding = {t for t in order[self.capacity:] if t.state == "running"}
        free = self.capacity - sum(t.state == "running" for t in self._tickets)
        for ticket in fair:  # free slots go in round-robin order; the others free as jobs yield
            if free and ticket.state != "running":
                ticket.state, ticket.held_since = "running", self._clock()
                self._last_served[ticket.session] = next(self._serial)
                free -= 1
        self._changed.notify_all()

    # Blocking, for the jobs' worker threads.

    def wait_for_slot(self, ticket: Ticket, should_stop: Callable[[], bool], poll_s: float = 0.5) -> bool:
        """Joins the line and blocks until `ticket` holds a slot (True), or until
        `should_stop()` says so while waiting (False; it leaves the line)."""
        with self._changed:
            self.join(ticket)
            return self._wait(ticket, should_stop, poll_s)

    def safe_point(self, ticket: Ticket, should_stop: Callable[[], bool], poll_s: float = 0.5) -> bool:
        """Called by a running job where it can pause. When another session waits for the
        slot this job holds beyond its session's share, it steps aside and blocks until it
        is its turn again (True), or until `should_stop()` (False)."""
        with self._changed:
            if ticket not in self._yielding:
                return True
            self.step_aside(ticket)
            return self._wait(ticket, should_stop, poll_s)

    def _wait(self, ticket: Ticket, should_stop: Callable[[], bool], poll_s: float) -> bool:
        while ticket.state != "running":
            if should_stop():
                self.leave(ticket)
                return False
            self._changed.wait(poll_s)
        return True

    # What pages show.

    def position(self, ticket: Ticket) -> tuple[str, int | None]:
        """(state, place in line: 1 next, None while running or gone)."""
        with self._changed:
            waiting = [t for t in self._round_robin() if t.state != "running"]
            return ticket.state, (waiting.index(ticket) + 1 if ticket in waiting else None)

    def listing(self) -> list[QueueEntry]:
        """The running jobs, then the waiting ones in the order they will get a slot."""
        with self._changed:
            now, order = self._clock(), self._round_robin()
            waiting = [t for t in order if t.state != "running"]
            entries = []
            for ticket in [t for t in order if t.state == "running"] + waiting:
                elapsed = ticket.held_s + (now - ticket.held_since if ticket.held_since is not None else 0.0)
                entries.append(QueueEntry(ticket.session, ticket.work, ticket.state,
                                          waiting.index(ticket) + 1 if ticket in waiting else None,
                                          ticket.fraction, elapsed, time_left(ticket.fraction, elapsed)))
            return entries

    def busy(self) -> tuple[int, int]:
        """(slots in use, jobs waiting or paused)."""
        with self._changed:
            running = sum(t.state == "running" for t in self._tickets)
            return running, len(self._tickets) - running

