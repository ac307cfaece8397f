"""Which cell of a grid (patch, token, window) the student last clicked on a picture shown with
streamlit-image-coordinates: the component keeps the click under its key in the session state."""

from __future__ import annotations

import streamlit as st

from app.vit.figures import patch_at


def clicked_cell(key: str, grid: tuple[int, int], default: tuple[int, int] | None = None) -> tuple[int, int]:
    """(row, col) of the last click on the picture keyed `key`, split into a `grid`; before any
    click, `default` (the grid's centre unless given)."""
    clicked = st.session_state.get(key)
    if clicked:
        return patch_at(clicked["x"], clicked["y"], clicked["width"], clicked["height"], grid)
    return default if default is not None else (grid[0] // 2, grid[1] // 2)
