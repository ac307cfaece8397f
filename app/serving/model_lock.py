"""Many sessions share one cached model: plain forwards may run together, but
anything that puts hooks on the model runs alone.

A forward hook registered on a shared module fires for every thread's forward
while it is there; captum's layer methods register such hooks. So hooked work
takes the model exclusively and hook-free work (inference, fx feature capture,
input gradients) takes it shared: a readers-writer lock per model.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class _ReadersWriterLock:
    """Writer-preferring: once a writer waits, new readers queue behind it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writer and self._readers == 0)
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._condition:
                self._writer = False
                self._condition.notify_all()


_locks: weakref.WeakKeyDictionary[torch.nn.Module, _ReadersWriterLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock_for(model: torch.nn.Module) -> _ReadersWriterLock:
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = _ReadersWriterLock()
        return lock


def shared_use(model: torch.nn.Module):
    """For hook-free work on `model`; many threads at once."""
    return _lock_for(model).shared()


def exclusive_use(model: torch.nn.Module):
    """For work that registers hooks on `model`; alone."""
    return _lock_for(model).exclusive()
