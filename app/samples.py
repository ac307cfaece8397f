"""Sample photos that ship inside installed wheels (scikit-image, scikit-learn): no network."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Sample:
    key: str
    title: str
    credit: str
    read_bytes: Callable[[], bytes]


def _skimage_png(loader_name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        import skimage.data

        array: np.ndarray = getattr(skimage.data, loader_name)()
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        return buffer.getvalue()

    return read


def sklearn_datasets_file(*parts: str) -> Path:
    """A file shipped in scikit-learn's datasets package, found without importing scikit-learn:
    that import (scipy and more) took 1.8 s on a fresh server, a page's whole budget, for a path."""
    return Path(importlib.util.find_spec("sklearn").submodule_search_locations[0], "datasets", *parts)


def _sklearn_jpeg(filename: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return sklearn_datasets_file("images", filename).read_bytes()

    return read


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample("cat", "Cat (Chelsea)", "scikit-image · Stefan van der Walt · CC0", _skimage_png("chelsea")),
        Sample("coffee", "Coffee cup", "scikit-image · Rachel Michetti · CC0", _skimage_png("coffee")),
        Sample("astronaut", "Astronaut (Eileen Collins)", "scikit-image · NASA · public domain",
               _skimage_png("astronaut")),
        Sample("rocket", "Rocket launch", "scikit-image · SpaceX · public domain", _skimage_png("rocket")),
        Sample("palace", "Summer Palace, Beijing", "scikit-learn · danielbuechele (Flickr) · CC BY 2.0",
               _sklearn_jpeg("china.jpg")),
        Sample("flower", "Flower", "scikit-learn · vultilion (Flickr) · CC BY 2.0", _sklearn_jpeg("flower.jpg")),
    )
}
DEFAULT_SAMPLE = "cat"


@cache
def sample_bytes(key: str) -> bytes:
    """The encoded file, so samples take the same decoding path as uploads."""
    return SAMPLES[key].read_bytes()
