"""Server settings a teacher sets in the environment, read once and checked: a typo must
stop the server with its name in the message, not surface later as a bare ValueError."""

from __future__ import annotations

import os


def number_from_env(name: str, default: float, minimum: float = 0) -> float:
    """`$name` as a number of at least `minimum`, or `default` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number (unset it for the default, {default:g})") from None
    if not value >= minimum:  # also refuses nan
        raise ValueError(f"{name}={text!r} must be at least {minimum:g} (unset it for the default, {default:g})")
    return value
