"""The server's one cache of per-image captures (CNN activations, ViT attention, Swin
window attention), shared by every session and bounded in bytes as well as entries,
and the turn-taking of the heavy computations behind it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from components.deferred_work import finish_or_stop
from components.server_state import CAPTURES, HEAVY_TURNS


@contextmanager
def heavy_turn():
    """Held while a forward pass, model build or animation encoding runs."""
    with HEAVY_TURNS:
        yield


def captured_in_background(key: tuple, compute: Callable[[], Any], name: str) -> None:
    """Returns once the capture for `key` is in the cache; one that takes longer than a moment
    (a larger input, a larger model) shows a progress bar and stops the page until it is, so
    that the control that asked answers at once. `name` says what runs."""
    if key in CAPTURES:
        return

    def work(report, should_stop) -> None:
        captured(key, compute)  # kept in CAPTURES, not in the job: the cache's bound holds

    finish_or_stop(("capture", *key), work, name)


def captured(key: tuple, compute: Callable[[], Any]) -> Any:
    """The capture for `key`, computed (in its turn) when no session has it yet."""
    def in_turn():
        with heavy_turn():
            return compute()

    return CAPTURES.get(key, in_turn)
