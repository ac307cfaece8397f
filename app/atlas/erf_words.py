"""Sentences about the effective receptive fields on screen, computed from the maps."""

from __future__ import annotations

import numpy as np

from app.atlas.erf import contribution_area

Box = tuple[float, float, float, float]


def field_boxes_words(titles: dict[str, str], boxes: dict[str, Box | None], side: int) -> str:
    """Which theoretical fields are drawn, which cover the whole image, which have none."""
    drawn = [titles[k] for k, b in boxes.items() if b is not None and not _covers(b, side)]
    whole = [titles[k] for k, b in boxes.items() if b is not None and _covers(b, side)]
    none = [titles[k] for k, b in boxes.items() if b is None]
    parts = []
    if drawn:
        parts.append(f"Dotted squares: the theoretical receptive field of the middle unit ({', '.join(drawn)}).")
    if whole:
        parts.append(f"For {', '.join(whole)} it already covers the whole {side} px image.")
    if none:
        parts.append(f"{', '.join(none)} mix tokens by attention: no kernel arithmetic gives their field.")
    return " ".join(parts)


def _covers(box: Box, side: int) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= 0 and y0 <= 0 and x1 >= side and y1 >= side


def trained_words(titles: dict[str, str], untrained: dict[str, np.ndarray], trained: dict[str, np.ndarray],
                  share: float = 0.5) -> str:
    """How the area holding `share` of the contribution changes with training, per network."""
    changes = [f"{titles[k]}: {contribution_area(untrained[k], share):.2%} untrained, "
               f"{contribution_area(trained[k], share):.2%} trained" for k in trained if k in untrained]
    return f"Area holding {share:.0%} of the contribution — " + "; ".join(changes) + "." if changes else ""
