"""Pictures of the walk-through's matrices and of patch grids, as plain RGB arrays (shown with
st.image or in a notebook): a 197 × 768 matrix drawn value by value is one small PNG, where a
heatmap would send every number to the browser."""

from __future__ import annotations

import numpy as np
import torch

from app.figures.colormaps import apply_colormap

MARK = np.array([255, 214, 0], dtype=np.uint8)  # the followed token's row, as on the patch grid


def matrix_picture(values: torch.Tensor | np.ndarray, signed: bool, marked_row: int | None = None,
                   min_side: int = 240) -> np.ndarray:
    """(R, C) values → RGB: red positive and blue negative on one scale symmetric about 0 when
    `signed`, else Viridis from 0 to the largest value; small matrices are enlarged (each value
    a square of pixels) to about `min_side`; `marked_row` is outlined in yellow."""
    data = np.asarray(values, dtype=np.float64)
    if signed:
        reach = float(np.abs(data).max()) or 1.0
        unit, colormap = (data / reach + 1) / 2, "RdBu_r"
    else:
        top = float(data.max()) or 1.0
        unit, colormap = data / top, "Viridis"
    rows, cols = data.shape
    cell_h, cell_w = max(1, min_side // rows), max(1, min_side // cols)
    picture = np.repeat(np.repeat(apply_colormap(unit, colormap), cell_h, axis=0), cell_w, axis=1)
    if marked_row is not None:
        top_px, bottom_px = marked_row * cell_h, (marked_row + 1) * cell_h
        thickness = max(1, min(3, cell_h // 3))
        picture = np.pad(picture, ((thickness, thickness), (0, 0), (0, 0)))  # room for a one-pixel row's outline
        picture[top_px: top_px + thickness] = MARK
        picture[bottom_px + thickness: bottom_px + 2 * thickness] = MARK
    return picture


def grid_picture(colours: np.ndarray, side: int = 448) -> np.ndarray:
    """(h, w, 3) colours in [0, 1] → RGB uint8 of about `side` px, each patch a flat square."""
    rows, cols = colours.shape[:2]
    cell = max(1, side // max(rows, cols))
    picture = np.clip(np.rint(np.asarray(colours) * 255), 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(picture, cell, axis=0), cell, axis=1)


def matrix_rows(matrix: torch.Tensor | np.ndarray, row_names: list[str] | tuple[str, ...],
                column_prefix: str, digits: int = 2) -> list[dict[str, object]]:
    """A small matrix as table rows: its row name, then one rounded column per entry."""
    data = np.asarray(matrix, dtype=np.float64)
    return [{"": name, **{f"{column_prefix}{j + 1}": round(float(value), digits) for j, value in enumerate(row)}}
            for name, row in zip(row_names, data, strict=True)]
