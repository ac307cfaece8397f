"""The server's one cache of per-image captures (CNN activations, ViT attention, Swin
window attention), shared by every session and bounded in bytes as well as entries,
and the turn-taking of the heavy computations behind it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from components.server_state import CAPTURES, HEAVY_TURNS


@contextmanager
def heavy_turn():
    """Held while a forward pass, model build or animation encoding runs."""
    with HEAVY_TURNS:
        yield


def captured(key: tuple, compute: Callable[[], Any]) -> Any:
    """The capture for `key`, computed (in its turn) when no session has it yet."""
    def in_turn():
        with heavy_turn():
            return compute()

    return CAPTURES.get(key, in_turn)
