"""What the whole server is holding and doing, in one line for a teacher: shared, never
per-session, and without anything of another session's content."""

from __future__ import annotations

from components.server_state import CACHE_MB, CAPTURES, MODEL_CACHE, MODELS_MB, SLOTS, STORE


def server_status() -> str:
    cache, models = CAPTURES.stats(), MODEL_CACHE.stats()
    running, waiting = SLOTS.busy()
    return (f"Models in memory: {models['entries']}, {models['bytes'] / 2**20:.0f} MB of {MODELS_MB} MB. "
            f"Shared capture cache: {cache['entries']} captures, {cache['bytes'] / 2**20:.0f} MB of {CACHE_MB} MB. "
            f"Background work (training runs, landscape grids): {running} of {SLOTS.capacity} slots busy, "
            f"{waiting} waiting. Workspaces on disk: {STORE.total_bytes() / 2**20:.0f} MB of "
            f"{STORE.total_cap_bytes >> 20} MB.")
