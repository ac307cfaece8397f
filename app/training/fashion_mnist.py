"""Fashion-MNIST offline: from Debian's `dataset-fashion-mnist` package (or a folder of the
same IDX files), read by `read_idx`."""

from __future__ import annotations

import gzip
import os
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from pretrained.labels import FASHION_MNIST_CLASSES  # noqa: F401  (re-exported for the pages)
from pretrained.zoo import FASHION_MNIST_PREPROCESSING

DATA_DIR_ENV = "VISION_EXPLORER_DATA"  # a folder holding fashion-mnist/ with the IDX files
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def to_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) uint8 → (N, 1, H, W) floats, normalised with Fashion-MNIST's pixel mean and std
    (over the 60,000 training images, scaled to [0, 1]), as the project's models were trained."""
    pixels = torch.from_numpy(np.asarray(images, np.float32) / 255.0)[:, None]
    return (pixels - FASHION_MNIST_PREPROCESSING.mean[0]) / FASHION_MNIST_PREPROCESSING.std[0]


class DatasetMissing(FileNotFoundError):
    """The files are not on this machine; the message says how to get them."""


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun's MNIST format), gzipped or not, as a uint8 array."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {body.size} of {int(np.prod(shape))} values")
    return body.reshape(shape)


def fashion_mnist_dir() -> Path | None:
    candidates = [Path(os.environ[DATA_DIR_ENV]) / "fashion-mnist"] if os.environ.get(DATA_DIR_ENV) else []
    for folder in [*candidates, DEBIAN_FASHION_MNIST]:
        if all(_find(folder, name) for pair in _FILES.values() for name in pair):
            return folder
    return None


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


@cache
def load_fashion_mnist(split: Literal["train", "test"]) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64); 60,000 train or 10,000 test."""
    folder = fashion_mnist_dir()
    if folder is None:
        raise DatasetMissing(
            "Fashion-MNIST is not on this machine: `sudo apt-get install dataset-fashion-mnist`, or put its "
            f"four IDX files in ${DATA_DIR_ENV}/fashion-mnist/."
        )
    images_file, labels_file = _FILES[split]
    images = read_idx(_find(folder, images_file))
    labels = read_idx(_find(folder, labels_file)).astype(np.int64)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{folder} holds mismatched Fashion-MNIST files")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def test_image_rgb(index: int) -> np.ndarray:
    """Test image `index` as (28, 28, 3) uint8: what the Fashion-MNIST transformers are shown."""
    image = load_fashion_mnist("test")[0][index]
    return np.repeat(image[..., None], 3, axis=2)
