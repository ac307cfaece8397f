"""Shrinking a decoded picture band by band, so that one decode costs the decoded image in its
stored mode once, plus bands and the small result: never a full-size copy in a wider mode.

A 40-megapixel 16-bit PNG is 80 MB as decoded; widened to float64 at full size it was 320 MB per
copy (1.4 GB peak). Here each band of rows is converted to a working mode (RGB, RGBA, L, or
float32 for high bit depth), box-averaged by an integer factor (Image.reduce; premultiplied for
alpha), and pasted into the small result. A band's rows are a multiple of the factor, so the
result equals reducing the whole picture at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image

_BAND_PIXELS = 2**20  # about 4 MB per band in a 4-byte mode
HIGH_BIT_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_OR_PALETTE = ("RGBA", "LA", "La", "RGBa", "PA", "P")


def _bands(image: Image.Image, factor: int) -> Iterator[tuple[int, Image.Image]]:
    """(top row, band) pairs covering `image`, each band a multiple of `factor` rows high."""
    width, height = image.size
    rows = max(1, _BAND_PIXELS // (width * factor)) * factor
    for top in range(0, height, rows):
        yield top, image.crop((0, top, width, min(top + rows, height)))


def reduce_in_bands(image: Image.Image, factor: int,
                    to_working: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """`to_working(image)` box-averaged by `factor` (ceil of each side), built band by band."""
    width, height = image.size
    result = None
    for top, band in _bands(image, factor):
        small = to_working(band)
        small = small.reduce(factor) if factor > 1 else small
        if result is None:
            result = Image.new(small.mode, (-(-width // factor), -(-height // factor)))
        result.paste(small, (0, top // factor))
    return result


def working_mode(mode: str) -> str:
    """The mode a picture of `mode` is averaged in: alpha stays until composited on white."""
    if mode in HIGH_BIT_DEPTH:
        return "F"
    if mode in ("1", "L"):
        return "L"
    return "RGBA" if mode in _ALPHA_OR_PALETTE else "RGB"


def finite_range(image: Image.Image) -> tuple[float, float, int]:
    """(lowest, highest) finite value of a one-channel picture and how many values are NaN or
    infinite, read band by band; (0, 0, n) when no value is finite."""
    low, high, nonfinite = np.inf, -np.inf, 0
    for _, band in _bands(image, 1):
        values = np.asarray(band, dtype=np.float32)
        finite = values[np.isfinite(values)]
        nonfinite += values.size - finite.size
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    return (low, high, nonfinite) if low <= high else (0.0, 0.0, nonfinite)


def stretched(low: float, high: float) -> Callable[[Image.Image], Image.Image]:
    """A band converter to float32 with [low, high] mapped to 0-255; NaN and -inf become `low`,
    +inf becomes `high` (the nearest finite extremes), so one bad pixel cannot blacken the rest."""
    scale = 255.0 / (high - low) if high > low else 0.0

    def convert(band: Image.Image) -> Image.Image:
        values = np.asarray(band, dtype=np.float32)
        values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
        return Image.fromarray(((values - low) * scale).astype(np.float32))  # mode F

    return convert
