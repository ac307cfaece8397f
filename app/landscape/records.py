"""A finished loss-landscape grid as bytes for the workspace store, and back.

Arrays go into an .npz read without pickle; what is not an array (the share of the path's
variance, the top eigenvalue's estimate) into a small JSON inside it. The PCA plane's two
directions (a full set of parameters each) are not kept: the figures need only the path's
coordinates in the plane.
"""

from __future__ import annotations

import io
import json

import numpy as np

from app.landscape.grid import LossGrid, PathPlane
from app.landscape.sharpness import TopEigenvalue


def grid_bytes(results: list) -> bytes:
    """`results`: the GridResults of one job (one per network), in order."""
    arrays, notes = {}, []
    for index, result in enumerate(results):
        surface = result.surface
        arrays.update({f"{index}_alphas": surface.alphas, f"{index}_betas": surface.betas,
                       f"{index}_loss": surface.loss, f"{index}_accuracy": surface.accuracy})
        note = {}
        if result.plane is not None:
            arrays[f"{index}_path"] = result.plane.coordinates
            note["explained"] = list(result.plane.explained)
        if result.top_eigenvalue is not None:
            top = result.top_eigenvalue
            note["top"] = [top.value, top.iterations, top.converged]
        notes.append(note)
    arrays["notes"] = np.frombuffer(json.dumps(notes).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def grid_from(data: bytes, result_type) -> list:
    """The GridResults `grid_bytes` wrote (built with `result_type`, the page's GridResult)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        notes = json.loads(stored["notes"].tobytes().decode())
        results = []
        for index, note in enumerate(notes):
            surface = LossGrid(*(stored[f"{index}_{name}"] for name in ("alphas", "betas", "loss", "accuracy")))
            plane = (PathPlane((), tuple(note["explained"]), stored[f"{index}_path"])
                     if "explained" in note else None)
            top = TopEigenvalue(*note["top"]) if "top" in note else None
            results.append(result_type(surface, plane, top))
    return results
