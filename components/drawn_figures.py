"""Figures built once per server for the same inputs: drawing a clip's pictures or four maps
takes a tenth of a second or more, and a rerun that changes nothing in them should not pay it
again (measured: the video page's and the transformer page's warm redraws, bench/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.server_state import PAGE_FIGURES


def drawn(key: tuple, build: Callable[[], Any]) -> Any:
    """What `build` returns for `key` (a page's name first, then what its figure shows)."""
    return PAGE_FIGURES.get(key, build)
