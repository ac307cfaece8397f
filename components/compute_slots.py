"""The server's one line for heavy background work (training runs and loss-landscape
grids of every session), and what a page says while a session waits in it."""

from __future__ import annotations

from app import settings
from app.compute_slots import ComputeSlots

SLOTS = ComputeSlots(settings.SLOTS.read())


def queued_words(place: int | None) -> str:
    running, waiting = SLOTS.busy()
    where = f"number {place} of {waiting} in line" if place else "in line"
    return (f"Waiting for a free slot on this server ({where}; {running} of {SLOTS.capacity} slots busy with "
            "other students' runs and grids). It starts by itself.")
