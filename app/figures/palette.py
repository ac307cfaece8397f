"""The colours of every figure, in one place: a series keeps its colour from page to page, and
the first is the theme's primary colour (.streamlit/config.toml). Tableau 10, as Vega-Lite's."""

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6")
BLUE, ORANGE, GREEN, RED = PALETTE[:4]


def series_colour(index: int) -> str:
    """The colour of the index-th series of a figure (the palette again after nine)."""
    return PALETTE[index % len(PALETTE)]
