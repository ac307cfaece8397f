"""How every chart's "Download plot as a PNG" button (the modebar's camera) saves it: at twice
the size on screen, so that a figure put on a slide or a handout stays sharp on a projector
(a 700 px wide chart becomes a 1400 px picture), named after the page it came from."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import streamlit as st

SCALE = 2


def page_slug() -> str:
    """The page's name in its address ("feature_maps"; "home" for the first page), for file names."""
    path = urlparse(st.context.url or "").path.strip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", path).strip("-") or "home"


# A grid of pictures keeps only the camera: plotly's whole toolbar would cover its top row's
# titles, and there is nothing to zoom or pan.
PICTURE_TOOLBAR = {"modeBarButtons": [["toImage"]], "displaylogo": False}


def chart_config(extra: dict | None = None) -> dict:
    """Plotly's config for st.plotly_chart: the PNG export, and `extra` (a page's own settings)."""
    return {"toImageButtonOptions": {"format": "png", "scale": SCALE, "filename": f"vision-explorer-{page_slug()}"},
            **(extra or {})}
