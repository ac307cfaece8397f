"""The server's one cache of per-image captures (CNN activations, ViT attention, Swin
window attention), shared by every session and bounded in bytes as well as entries,
and the turn-taking of the heavy computations behind it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from app.serving import settings
from app.serving.bounded_cache import BoundedCache

CACHE_MB = settings.CACHE_MB.read()
# Entries are keyed by (page, what was fed, model, device, weights, settings). The byte
# budget is the real bound; the entry count only stops thousands of tiny captures.
CAPTURES = BoundedCache(max_entries=256, max_bytes=CACHE_MB * 2**20)

# A forward pass already uses every core torch gives it. When twenty sessions start theirs at
# once, the cores are shared twenty ways and a student who only moved a slider (a redraw of
# milliseconds) waits behind all of them; taking turns keeps redraws quick.
_HEAVY = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))


@contextmanager
def heavy_turn():
    """Held while a forward pass, model build or animation encoding runs."""
    with _HEAVY:
        yield


def captured(key: tuple, compute: Callable[[], Any]) -> Any:
    """The capture for `key`, computed (in its turn) when no session has it yet."""
    def in_turn():
        with heavy_turn():
            return compute()

    return CAPTURES.get(key, in_turn)
