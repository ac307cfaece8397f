"""The server's one line for heavy background work (training runs and loss-landscape
grids of every session), and what a page shows while a session waits in it: who waits
for what, and how long the running jobs will still take. Sessions appear as "you" or
"student N", never by anything personal."""

from __future__ import annotations

import streamlit as st

from app.serving.compute_slots import QueueEntry
from components.server_state import SLOTS
from components.session_owner import session_number


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return "not known yet"  # no progress to extrapolate from
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def queue_rows(entries: list[QueueEntry], you: int | None) -> list[dict[str, str]]:
    """The queue as table rows, for the session numbered `you` (None: a session without work)."""
    state_words = {"running": "running", "waiting": "waiting", "paused": "paused for fairness"}
    return [{"Who": "you" if entry.session == you else f"student {entry.session}",
             "Work": entry.work,
             "State": state_words[entry.state] + (f", place {entry.place} in line" if entry.place else ""),
             "Done": f"{entry.fraction:.0%}",
             "Time left": duration_words(entry.time_left_s)
             + (" once resumed" if entry.state == "paused" and entry.time_left_s is not None else "")}
            for entry in entries]


def queue_table() -> None:
    """The server's running and waiting jobs, if any; time left is extrapolated from each
    job's progress so far (elapsed × (1 − done) / done, paused time not counted)."""
    entries = SLOTS.listing()
    if entries:
        st.dataframe(queue_rows(entries, session_number()), hide_index=True, width="stretch")


def queue_notice(statuses: list[str]) -> None:
    """Under a page's own jobs (their statuses): why one of them waits, and the queue."""
    running, _ = SLOTS.busy()
    if "paused" in statuses:
        st.info(f"Paused for fairness: other students have work too, and while they do no session holds more "
                f"than its share of the server's {SLOTS.capacity} slots. The paused work keeps its state and "
                "resumes by itself where it stopped.", icon=":material/pause_circle:")
    elif "queued" in statuses:
        st.info(f"Waiting for a free slot on this server ({running} of {SLOTS.capacity} busy). It starts by "
                "itself; slots go round the sessions in turn.", icon=":material/hourglass_top:")
    else:
        return
    queue_table()
