"""A least-recently-used cache bounded by entries and by bytes, shared across threads.

Per-image captures (every layer's activations, every head's attention) are tens to
hundreds of MB each; a classroom uploads many images. Counting entries alone would let
a few large captures take gigabytes, so the cache also counts the bytes of the arrays
and tensors it holds and drops the least recently used entries to stay under a budget.
A key being computed is computed once: other threads asking for it wait for that result.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch


def array_bytes(value: Any) -> int:
    """Bytes of the tensors and arrays inside `value` (dataclasses, dicts, lists, tuples),
    each storage counted once; modules are shared models, not the entry's own, and are skipped."""
    seen: set[int] = set()

    def walk(item) -> int:
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            key = storage.data_ptr() if storage.data_ptr() else id(item)
            if key in seen:
                return 0
            seen.add(key)
            return storage.nbytes()
        if isinstance(item, np.ndarray):
            base = item if item.base is None else item.base
            if id(base) in seen:
                return 0
            seen.add(id(base))
            return base.nbytes if isinstance(base, np.ndarray) else item.nbytes
        if isinstance(item, (bytes, bytearray, str)):
            return len(item)
        if isinstance(item, torch.nn.Module):
            return 0
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return sum(walk(getattr(item, f.name)) for f in dataclasses.fields(item))
        if isinstance(item, dict):
            return sum(walk(v) for v in item.values())
        if isinstance(item, (list, tuple)):
            return sum(walk(v) for v in item)
        return 0

    return walk(value)


def model_bytes(value: Any) -> int:
    """Bytes of the parameters and buffers of the model inside `value` (a module, or an object
    holding one as `.model`, such as a loaded registry model)."""
    module = value if isinstance(value, torch.nn.Module) else value.model
    tensors = itertools.chain(module.parameters(), module.buffers())
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


@dataclasses.dataclass
class _Pending:
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    value: Any = None
    failed: bool = False


class BoundedCache:
    """`max_bytes=None` bounds the entries only (values whose bytes are someone else's)."""

    def __init__(self, max_entries: int, max_bytes: int | None = None, sizeof: Callable[[Any], int] = array_bytes):
        self.max_entries, self._sizeof = max_entries, sizeof
        self.max_bytes = float("inf") if max_bytes is None else max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for `key`, computing it with `compute()` when absent. A value
        larger than the whole budget is returned but not kept."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key][0]
            pending = self._pending.get(key)
            computing = pending is None
            if computing:
                pending = self._pending[key] = _Pending()
                self.misses += 1
        if not computing:
            pending.done.wait()
            return self.get(key, compute) if pending.failed else pending.value
        try:
            value = compute()
        except BaseException:
            with self._lock:
                del self._pending[key]
            pending.failed = True
            pending.done.set()
            raise
        size = self._sizeof(value)
        with self._lock:
            del self._pending[key]
            if size <= self.max_bytes:
                self._entries[key] = (value, size)
                self._bytes += size
                while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        pending.value = value
        pending.done.set()
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def retain(self, keep: Callable[[Hashable], bool]) -> None:
        """Drops every entry whose key `keep` refuses."""
        with self._lock:
            for key in [key for key in self._entries if not keep(key)]:
                _, size = self._entries.pop(key)
                self._bytes -= size

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes, "hits": self.hits, "misses": self.misses}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
