"""Colormaps as 256-entry lookup tables, so a whole mosaic is coloured by one indexing step."""

from __future__ import annotations

from functools import cache

import numpy as np
from plotly.colors import sample_colorscale

# Plotly names, so the server-side PNGs and the plotly colorbars agree.
COLORMAPS = ("Viridis", "Magma", "Inferno", "Cividis", "Turbo", "gray", "RdBu_r")


@cache
def lookup_table(name: str) -> np.ndarray:
    """(256, 3) uint8."""
    samples = np.array(sample_colorscale(name, list(np.linspace(0, 1, 256)), colortype="tuple"))
    # Scales defined by hex codes sample to [0, 1] floats, those defined by rgb() strings to [0, 255].
    scale = 255 if samples.max() <= 1 else 1
    return np.rint(samples * scale).astype(np.uint8)


def apply_colormap(unit: np.ndarray, name: str) -> np.ndarray:
    """Values in [0, 1] (any shape) -> the same shape + (3,) uint8 RGB."""
    index = np.clip(np.rint(np.nan_to_num(unit) * 255), 0, 255).astype(np.uint8)
    return lookup_table(name)[index]


def normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Maps [low, high] to [0, 1]; a constant map becomes 0."""
    span = high - low
    return np.zeros_like(values, dtype=np.float32) if span <= 0 else ((values - low) / span).astype(np.float32)


def fading_colorscale(name: str, opacity: float, signed: bool = False, samples: int = 33) -> list[list]:
    """A plotly colorscale whose alpha grows with the value: 0 at the low end (at the centre
    when `signed`) up to `opacity` at the ends, so a zero map leaves the photo as it is
    instead of tinting it with the colormap's low colour."""
    positions = np.linspace(0.0, 1.0, samples)
    colours = lookup_table(name)[np.rint(positions * 255).astype(int)]
    alphas = opacity * (np.abs(2 * positions - 1) if signed else positions)
    return [[float(p), f"rgba({r},{g},{b},{a:.3f})"] for p, (r, g, b), a in zip(positions, colours, alphas)]
