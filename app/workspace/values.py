"""The choices a page keeps (widget values and a few plain ones) as JSON, and back.

Only plain values are kept: text, numbers, booleans, None, and lists and tuples of them (a
range slider's value is a tuple; it comes back a tuple). Anything else (a model, a tensor, a
set) is not a choice and is not kept.
"""

from __future__ import annotations

import json
import math
from typing import Any

_TUPLE = "__tuple__"


def storable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(storable(item) for item in value)
    return False


def encode(value: Any) -> str:
    if not storable(value):
        raise TypeError(f"not a plain value: {type(value).__name__}")
    return json.dumps(_tagged(value), ensure_ascii=False)


def decode(text: str) -> Any:
    """The value `encode` wrote; ValueError for text it did not write."""
    return _untagged(json.loads(text))


def _tagged(value):
    if isinstance(value, tuple):
        return {_TUPLE: [_tagged(v) for v in value]}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    return value


def _untagged(value):
    if isinstance(value, dict):
        if set(value) != {_TUPLE} or not isinstance(value[_TUPLE], list):
            raise ValueError("not a stored value")
        return tuple(_untagged(v) for v in value[_TUPLE])
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value
