"""TimeSformer's five self-attention schemes (Bertasius, Wang and Torresani 2021, Figure 2 and
Section 3) as the patches one query attends to, on a clip's grid of frames × rows × columns.

- Space (S): the patches of the query's own frame.
- Joint space-time (ST): every patch of every frame.
- Divided space-time (T+S): first the patch at the same place in every frame (time), then the
  patches of the query's frame (space).
- Sparse local-global (L+G): first the patches of every frame within a window of half the grid's
  rows and columns around the query (local), then every second patch along time, rows and
  columns over the whole clip (global). The paper gives the sizes and the stride of 2; that the
  window is centred on the query and the stride counted from it is this page's reading.
- Axial (T+W+H): the patches along time, then along the row, then along the column, each
  through the query.

Each scheme is a list of steps; a step is a (frames, rows, columns) mask of the keys. Only
geometry: no weights are needed to draw them, nor to count their cost.
"""

from __future__ import annotations

import math

import numpy as np

from pretrained.spec import Preprocessing

SCHEMES = {
    "space": "Space (S)",
    "joint": "Joint space-time (ST)",
    "divided": "Divided space-time (T+S)",
    "local_global": "Sparse local-global (L+G)",
    "axial": "Axial (T+W+H)",
}
SHORT = {"space": "S", "joint": "ST", "divided": "T+S", "local_global": "L+G", "axial": "T+W+H"}
# TimeSformer's input: the shorter side to 224 (its Kinetics recipe), the centre square, 16 px patches.
TIMESFORMER_VIEW = Preprocessing(input_size=224, resize_size=224, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
PATCH = 16


def neighbourhood(scheme: str, frames: int, rows: int, cols: int, query: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """{step: (frames, rows, cols) bool} the keys of `query` (frame, row, column) at each step."""
    t, r, c = np.meshgrid(np.arange(frames), np.arange(rows), np.arange(cols), indexing="ij")
    qt, qr, qc = query
    same_frame, same_place = t == qt, (r == qr) & (c == qc)
    if scheme == "space":
        return {"space": same_frame}
    if scheme == "joint":
        return {"space-time": np.ones_like(same_frame)}
    if scheme == "divided":
        return {"time": same_place, "space": same_frame}
    if scheme == "local_global":
        half_r, half_c = max(rows // 2, 1), max(cols // 2, 1)
        # A window of half_r × half_c patches holding the query, as centred as the grid allows.
        top = min(max(qr - half_r // 2, 0), rows - half_r)
        left = min(max(qc - half_c // 2, 0), cols - half_c)
        local = (r >= top) & (r < top + half_r) & (c >= left) & (c < left + half_c)
        strided = ((t - qt) % 2 == 0) & ((r - qr) % 2 == 0) & ((c - qc) % 2 == 0)
        return {"local": local, "global": strided}
    if scheme == "axial":
        return {"time": same_place, "width": same_frame & (r == qr), "height": same_frame & (c == qc)}
    raise ValueError(f"unknown scheme {scheme!r}; one of {', '.join(SCHEMES)}")


def _every_second(length: int) -> float:
    """Positions along an axis of `length` an even distance from the query, averaged over queries."""
    return (math.ceil(length / 2) ** 2 + (length // 2) ** 2) / length


def keys_per_query(scheme: str, frames: int, rows: int, cols: int) -> float:
    """Keys one query attends to, summed over the scheme's steps and averaged over every query of
    the clip (the global step's count depends on the query's place)."""
    counts = {
        "space": rows * cols,
        "joint": frames * rows * cols,
        "divided": frames + rows * cols,
        "local_global": frames * max(rows // 2, 1) * max(cols // 2, 1)
        + _every_second(frames) * _every_second(rows) * _every_second(cols),
        "axial": frames + rows + cols,
    }
    return float(counts[scheme])


def attention_pairs(scheme: str, frames: int, rows: int, cols: int) -> int:
    """Query-key pairs one attention layer scores on the clip: its cost, up to the width."""
    return round(keys_per_query(scheme, frames, rows, cols) * frames * rows * cols)
