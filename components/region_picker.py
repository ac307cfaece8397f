"""A region of a mask, chosen by dragging a box on it or with two range sliders below it (which
follow the drag, are kept with the workspace, and work without a mouse)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app.figures.plot_images import Picture, image_trace, picture_layout, picture_size
from app.segmentation.seg_grad_cam import Region
from components.figure_export import PICTURE_TOOLBAR, chart_config

GRID_POINTS = 80  # selectable points across the longer side: plotly selects points, not image pixels


def region_figure(picture: Picture, region: Region, height: int) -> go.Figure:
    """The picture, the region outlined, and an invisible grid of points for the box selection."""
    rows, cols = picture_size(picture)
    step = max(1, math.ceil(max(rows, cols) / GRID_POINTS))
    y, x = np.mgrid[step / 2:rows:step, step / 2:cols:step]
    figure = go.Figure([image_trace(picture, "mask"),
                        go.Scatter(x=x.ravel(), y=y.ravel(), mode="markers", hoverinfo="none", showlegend=False,
                                   marker=dict(size=4, opacity=0), selected=dict(marker=dict(opacity=0)),
                                   unselected=dict(marker=dict(opacity=0)))])
    figure.add_shape(type="rect", x0=region.left, x1=region.right, y0=region.top, y1=region.bottom,
                     line=dict(color="black", width=3))
    picture_layout(figure, cols, rows, fig_height=height)
    figure.update_layout(dragmode="select")
    return figure


def picked_region(picture: Picture, key: str, default: Region, height: int = 360,
                  legend: Callable[[go.Figure], None] | None = None) -> Region:
    """The region drawn on `picture`, in its pixels; `legend` adds the classes' key to the figure."""
    rows, cols = picture_size(picture)
    chart, dragged = f"{key}_chart", f"_{key}_dragged"
    selection = st.session_state.get(chart)
    boxes = selection["selection"]["box"] if selection else []
    if boxes:  # a new drag sets the sliders, drawn below the chart
        xs, ys = sorted(boxes[0]["x"]), sorted(boxes[0]["y"])
        region = Region(math.floor(ys[0]), math.floor(xs[0]), math.ceil(ys[1]), math.ceil(xs[1])).clipped(rows, cols)
        if st.session_state.get(dragged) != region:
            st.session_state[dragged] = region
            st.session_state[f"{key}_rows"] = (region.top, region.bottom)
            st.session_state[f"{key}_cols"] = (region.left, region.right)
    top, bottom = st.session_state.get(f"{key}_rows", (default.top, default.bottom))
    left, right = st.session_state.get(f"{key}_cols", (default.left, default.right))
    region = Region(top, left, bottom, right).clipped(rows, cols)
    for slider, value in ((f"{key}_rows", (region.top, region.bottom)), (f"{key}_cols", (region.left, region.right))):
        if tuple(st.session_state.get(slider, ())) != value:  # new, or outside this picture: written only then
            st.session_state[slider] = value
    figure = region_figure(picture, region, height)
    if legend is not None:
        legend(figure)
    st.plotly_chart(figure, width="stretch", key=chart, on_select="rerun", selection_mode="box",
                    config=chart_config(PICTURE_TOOLBAR))
    across, down = st.columns(2)
    down.slider("Region: rows", 0, rows, key=f"{key}_rows")
    across.slider("Region: columns", 0, cols, key=f"{key}_cols")
    return region
