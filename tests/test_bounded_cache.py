"""The byte- and entry-bounded LRU cache that holds every session's captures."""

import random
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from app.serving.bounded_cache import BoundedCache, array_bytes, model_bytes


@dataclass(frozen=True)
class _Capture:
    maps: dict
    view: np.ndarray
    model: torch.nn.Module


def test_array_bytes_counts_each_storage_once_and_skips_models():
    base = torch.zeros(1000)  # 4,000 bytes
    image = np.zeros((10, 10, 3), np.uint8)  # 300 bytes
    capture = _Capture({"a": base, "a_view": base[:10], "b": torch.zeros(5, dtype=torch.float16)},
                       image[2:], torch.nn.Linear(1000, 1000))
    assert array_bytes(capture) == 4000 + 10 + 300
    assert array_bytes([b"abc", "de", (np.ones(4),)]) == 3 + 2 + 32


def test_model_bytes_are_the_bytes_of_its_saved_weights(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(8, 4).half())

    class Loaded:  # what pretrained.load_model returns holds its network as `.model`
        pass

    loaded = Loaded()
    loaded.model = model
    tensors = model.state_dict().values()  # parameters and buffers, as saved
    expected = sum(t.numel() * t.element_size() for t in tensors)
    assert expected == (8 * 3 * 9 + 8) * 4 + 4 * 8 * 4 + 8 + (4 * 8 + 4) * 2  # BN: 4 float vectors, 1 int64
    assert model_bytes(model) == model_bytes(loaded) == expected


def _reference_lru(operations, max_entries, max_bytes):
    """A plain list kept in recency order, rebuilt on every step: the oracle."""
    kept, computed = [], []
    for key, size in operations:
        found = [entry for entry in kept if entry[0] == key]
        if found:
            kept.remove(found[0])
            kept.append(found[0])
            continue
        computed.append(key)
        if size <= max_bytes:
            kept.append((key, size))
            while len(kept) > max_entries or sum(s for _, s in kept) > max_bytes:
                kept.pop(0)
    return [k for k, _ in kept], computed


def test_it_keeps_and_evicts_exactly_as_a_brute_force_lru():
    rng = random.Random(0)
    sizes = {key: rng.choice([10, 100, 400, 1200]) for key in range(30)}
    operations = [(key, sizes[key]) for key in (rng.randrange(30) for _ in range(2000))]
    cache, computed = BoundedCache(max_entries=8, max_bytes=1000, sizeof=len), []
    for key, size in operations:
        value = cache.get(key, lambda key=key, size=size: computed.append(key) or bytes(size))
        assert len(value) == size
    expected_kept, expected_computed = _reference_lru(operations, 8, 1000)
    assert computed == expected_computed
    assert list(cache._entries) == expected_kept
    stats = cache.stats()
    assert stats["bytes"] == sum(sizes[k] for k in expected_kept) <= 1000
    assert stats["misses"] == len(computed) and stats["hits"] == len(operations) - len(computed)


def test_a_key_asked_for_by_many_threads_at_once_is_computed_once():
    cache, calls = BoundedCache(4, 10**6), []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return np.ones(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", compute))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 8 and all(r is results[0] for r in results)


def test_a_failed_computation_is_not_cached_and_the_next_call_retries():
    cache = BoundedCache(4, 10**6)
    with pytest.raises(MemoryError):
        cache.get("k", lambda: (_ for _ in ()).throw(MemoryError("out of memory")))
    assert cache.get("k", lambda: np.ones(3)).sum() == 3
    assert cache.stats()["entries"] == 1


def test_a_value_larger_than_the_budget_is_returned_but_not_kept():
    cache = BoundedCache(4, 100, sizeof=len)
    cache.get("small", lambda: bytes(50))
    assert len(cache.get("huge", lambda: bytes(500))) == 500
    assert list(cache._entries) == ["small"] and cache.stats()["bytes"] == 50


def test_retain_drops_the_refused_keys_and_frees_their_bytes():
    cache = BoundedCache(max_entries=10, max_bytes=1000)
    for key, size in (("a", 100), ("b", 200), ("c", 300)):
        cache.get(key, lambda size=size: np.zeros(size, np.uint8))
    cache.retain(lambda key: key != "b")
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.stats()["bytes"] == 400 and cache.stats()["entries"] == 2
    cache.get("d", lambda: np.zeros(600, np.uint8))  # fits only because b's bytes were freed
    assert all(key in cache for key in ("a", "c", "d"))
