"""Python that rebuilds a page's settings in a notebook: the settings objects (frozen
dataclasses of plain values) written as the constructor calls that make them, with the
imports they need.

    code = snippet(settings, "settings", "race_figure(settings.surface, settings.run(), settings.start)",
                   ["from app.optim.figures import race_figure"])

Running `code` leaves the figure as its last expression (what a notebook cell shows).
"""

from __future__ import annotations

import dataclasses
import math


def constructor(value) -> tuple[str, set[str]]:
    """(the Python expression that makes `value`, the imports it needs). Dataclasses become
    calls with keyword arguments; tuples, lists, dicts and plain values are written as such."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        imports = {f"from {type(value).__module__} import {type(value).__name__}"}
        arguments = []
        for field in dataclasses.fields(value):
            if not field.init:
                continue
            code, needed = constructor(getattr(value, field.name))
            arguments.append(f"{field.name}={code}")
            imports |= needed
        return f"{type(value).__name__}({', '.join(arguments)})", imports
    if isinstance(value, (tuple, list)):
        parts = [constructor(item) for item in value]
        inner = ", ".join(code for code, _ in parts)
        if isinstance(value, tuple):
            inner += "," if len(parts) == 1 else ""
            return f"({inner})", set().union(*(needed for _, needed in parts))
        return f"[{inner}]", set().union(*(needed for _, needed in parts))
    if isinstance(value, dict):
        parts = [(constructor(k), constructor(v)) for k, v in value.items()]
        inner = ", ".join(f"{k[0]}: {v[0]}" for k, v in parts)
        return "{" + inner + "}", set().union(*(k[1] | v[1] for k, v in parts))
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})", set()
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value), set()
    raise TypeError(f"no constructor for a {type(value).__name__}")


def snippet(settings, name: str, figure_call: str, imports: list[str]) -> str:
    code, needed = constructor(settings)
    lines = sorted(needed | set(imports))
    return "\n".join([*lines, "", f"{name} = {code}", figure_call]) + "\n"
