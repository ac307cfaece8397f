"""The datasets the live-training page can use, where each comes from, and a seeded split.

Fashion-MNIST comes from Debian's package (or a local folder), else a download;
MNIST and CIFAR-10 from a download (torchvision's addresses and MD5 sums,
through the project's checked downloader); the 8×8 digits always ship with
scikit-learn. Downloads land in $VISION_EXPLORER_DATA or ~/.cache/vision-explorer/data.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from app.samples import sklearn_datasets_file
from app.training.fashion_mnist import DATA_DIR_ENV, fashion_mnist_dir, read_idx
from pretrained.download import Progress, download_file
from pretrained.labels import FASHION_MNIST_CLASSES
from pretrained.locations import OFFLINE_ENV, is_offline

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# MD5 sums as torchvision publishes them (torchvision.datasets.MNIST / FashionMNIST .resources).
MNIST_FILES = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
               "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
               "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
               "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
FASHION_MNIST_FILES = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                       "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                       "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                       "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}


class DatasetState(str, Enum):
    READY = "ready"
    DOWNLOADABLE = "downloadable"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class DatasetStatus:
    state: DatasetState
    detail: str  # where it is, or why it cannot be had


@dataclass(frozen=True, eq=False)
class ImageData:
    """A dataset in memory: images (N, C, H, W) uint8 and labels (N,)."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "vision-explorer" / "data")


def _idx_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def _download_idx(base_url: str, files: dict[str, str], folder: Path, progress: Progress | None) -> None:
    for index, (name, md5) in enumerate(files.items()):
        if not (folder / name).is_file():
            def step(done, total, index=index):
                if progress:
                    progress(index * 1000 + (1000 * done // total if total else 0), 1000 * len(files))

            download_file(base_url + name, folder / name, progress=step, expected_md5=md5)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR-10's batches are pickled dicts of numpy arrays: allow exactly those types,
    so a tampered file cannot run code even past the MD5 check."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "bytes")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as f:
        batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)


class Source:
    name: str
    classes: tuple[str, ...]

    def status(self) -> DatasetStatus:
        raise NotImplementedError

    def load(self, progress: Progress | None = None) -> ImageData:
        raise NotImplementedError


class FashionMnist(Source):
    name, classes = "Fashion-MNIST", FASHION_MNIST_CLASSES

    def _folder(self) -> Path | None:
        found = fashion_mnist_dir()
        downloaded = data_dir() / "fashion-mnist"
        return found or (downloaded if all((downloaded / f).is_file() for f in FASHION_MNIST_FILES) else None)

    def status(self) -> DatasetStatus:
        folder = self._folder()
        if folder is not None:
            return DatasetStatus(DatasetState.READY, str(folder))
        if not is_offline():
            return DatasetStatus(DatasetState.DOWNLOADABLE, "30 MB from the dataset's own server")
        return DatasetStatus(DatasetState.UNAVAILABLE, f"install Debian's dataset-fashion-mnist; offline mode "
                                                       f"({OFFLINE_ENV}=1) forbids a download")

    def load(self, progress=None) -> ImageData:
        folder = self._folder()
        if folder is None:
            folder = data_dir() / "fashion-mnist"
            _download_idx(FASHION_MNIST_URL, FASHION_MNIST_FILES, folder, progress)
        return _as_data(self, _idx_pair(folder, "train"), _idx_pair(folder, "test"))


class Mnist(Source):
    name, classes = "MNIST", tuple(str(d) for d in range(10))

    def status(self) -> DatasetStatus:
        folder = data_dir() / "mnist"
        if all((folder / f).is_file() for f in MNIST_FILES):
            return DatasetStatus(DatasetState.READY, str(folder))
        if not is_offline():
            return DatasetStatus(DatasetState.DOWNLOADABLE, "11 MB from torchvision's mirror")
        return DatasetStatus(DatasetState.UNAVAILABLE, "no package ships MNIST; it needs a download, and "
                                                       f"offline mode ({OFFLINE_ENV}=1) is on")

    def load(self, progress=None) -> ImageData:
        folder = data_dir() / "mnist"
        _download_idx(MNIST_URL, MNIST_FILES, folder, progress)
        return _as_data(self, _idx_pair(folder, "train"), _idx_pair(folder, "test"))


class Cifar10(Source):
    name, classes = "CIFAR-10", CIFAR10_CLASSES

    def _folder(self) -> Path:
        return data_dir() / "cifar-10-batches-py"

    def status(self) -> DatasetStatus:
        if (self._folder() / "test_batch").is_file():
            return DatasetStatus(DatasetState.READY, str(self._folder()))
        if not is_offline():
            return DatasetStatus(DatasetState.DOWNLOADABLE, "163 MB from the University of Toronto")
        return DatasetStatus(DatasetState.UNAVAILABLE, "no package ships CIFAR-10; it needs a download, and "
                                                       f"offline mode ({OFFLINE_ENV}=1) is on")

    def load(self, progress=None) -> ImageData:
        folder = self._folder()
        if not (folder / "test_batch").is_file():
            archive = data_dir() / "cifar-10-python.tar.gz"
            if not archive.is_file():
                download_file(CIFAR10_URL, archive, progress=progress, expected_md5=CIFAR10_MD5)
            with tarfile.open(archive) as tar:
                tar.extractall(data_dir(), filter="data")
        train = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
        train_images = np.concatenate([b[0] for b in train])
        train_labels = np.concatenate([b[1] for b in train])
        return _as_data(self, (train_images, train_labels), _read_cifar_batch(folder / "test_batch"))


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as `load_digits` reads them: (N, 8, 8) grey levels 0–16 and labels."""
    table = np.loadtxt(sklearn_datasets_file("data", "digits.csv.gz"), delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)


class Digits(Source):
    """scikit-learn's 1,797 handwritten digits, 8×8 with 17 grey levels, enlarged to 28×28."""

    name, classes = "Digits (8×8, scikit-learn)", tuple(str(d) for d in range(10))

    def status(self) -> DatasetStatus:
        return DatasetStatus(DatasetState.READY, "inside scikit-learn")

    def load(self, progress=None) -> ImageData:
        pictures, labels = sklearn_digits()
        small = torch.tensor(pictures, dtype=torch.float32)[:, None] / 16.0  # (N, 1, 8, 8)
        large = F.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
        images = (large.clamp(0, 1) * 255).round().to(torch.uint8).numpy()[:, 0]
        order = np.random.default_rng(0).permutation(len(images))
        test, train = order[:360], order[360:]  # a fixed 20 % test split
        return _as_data(self, (images[train], labels[train]), (images[test], labels[test]))


def _as_data(source: Source, train, test) -> ImageData:
    def tensor(images):
        array = np.asarray(images)
        return torch.from_numpy(np.array(array[:, None] if array.ndim == 3 else array))  # a writable copy

    return ImageData(source.name, tensor(train[0]), torch.as_tensor(np.asarray(train[1], dtype=np.int64)),
                     tensor(test[0]), torch.as_tensor(np.asarray(test[1], dtype=np.int64)), source.classes)


SOURCES: dict[str, Source] = {s.name: s for s in (FashionMnist(), Digits(), Mnist(), Cifar10())}


@dataclass(frozen=True, eq=False)
class Split:
    """Training and validation images, floats in [0, 1], on one device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    classes: tuple[str, ...]
    dataset: str = "unnamed images"

    @property
    def summary(self) -> SplitSummary:
        return SplitSummary(self.dataset, len(self.train_y), len(self.val_y))


@dataclass(frozen=True)
class SplitSummary:
    """What a run was trained and validated on, for labels and tables."""

    dataset: str
    train_images: int
    validation_images: int


def split(data: ImageData, validation: int, seed: int, train_subset: int | None = None,
          device: torch.device | str = "cpu") -> Split:
    """A seeded train/validation split of the training images (the test set stays
    untouched), optionally only `train_subset` training images: few enough to overfit."""
    order = torch.randperm(len(data.train_labels), generator=torch.Generator().manual_seed(seed))
    val_index, train_index = order[:validation], order[validation:]
    if train_subset is not None:
        train_index = train_index[:train_subset]

    def floats(index):
        return data.train_images[index].to(device).float() / 255

    return Split(floats(train_index), data.train_labels[train_index].to(device), floats(val_index),
                 data.train_labels[val_index].to(device), data.classes, data.name)
