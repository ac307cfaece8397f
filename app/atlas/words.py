"""Sentences about the atlas's numbers, computed from them."""

from __future__ import annotations

from app.atlas.catalog import Architecture
from app.atlas.cost import Cost


def cheaper_and_better(architectures: list[Architecture], costs: dict[str, Cost],
                       top1: dict[str, float | None]) -> str:
    """The costliest network with an accuracy, against the cheapest one at least as accurate."""
    rated = [a for a in architectures if a.key in costs and top1.get(a.key) is not None]
    if len(rated) < 2:
        return ""
    costliest = max(rated, key=lambda a: costs[a.key].macs)
    cheapest = min((a for a in rated if top1[a.key] >= top1[costliest.key]), key=lambda a: costs[a.key].macs)
    if cheapest is costliest:
        return ""
    big, small = costs[costliest.key], costs[cheapest.key]
    return (f"{costliest.title} takes {big.macs / 1e9:.2f} GMACs for {top1[costliest.key]:.1f} % top-1; "
            f"{cheapest.title} {small.macs / 1e9:.2f} GMACs for {top1[cheapest.key]:.1f} %: "
            f"{big.macs / small.macs:.0f}× fewer multiply-adds and "
            f"{big.parameters / small.parameters:.0f}× fewer parameters.")
