"""The scenes the project's U-Nets are trained and tested on: fixed splits of Fashion-MNIST scenes
(the training scenes from the training images, the test scenes from the test images), and the
normalisation they are fed with."""

from __future__ import annotations

import numpy as np
import torch

from app.preprocess import model_view
from app.segmentation.scenes import Scenes, make_scenes
from app.training.fashion_mnist import load_fashion_mnist
from pretrained.spec import Preprocessing
from pretrained.zoo import FASHION_MNIST_PREPROCESSING

SIDE = 64
SPLITS = {"train": (6000, 0), "test": (1000, 1)}  # scenes and seed per split
MEAN, STD = FASHION_MNIST_PREPROCESSING.mean[0], FASHION_MNIST_PREPROCESSING.std[0]
# A photo as the U-Nets take it: grey, shorter side to 64, centre crop.
PHOTO_VIEW = Preprocessing(input_size=SIDE, resize_size=SIDE, mean=(MEAN,), std=(STD,))


def fashion_scenes(split: str) -> Scenes:
    count, seed = SPLITS[split]
    images, labels = load_fashion_mnist(split)
    return make_scenes(images, labels, count, seed, SIDE)


def to_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) uint8 → (N, 1, H, W) normalised floats."""
    return (torch.from_numpy(np.asarray(images, np.float32) / 255.0)[:, None] - MEAN) / STD


def photo_view(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 → (64, 64) uint8 grey, the crop the U-Nets see."""
    return model_view(rgb, PHOTO_VIEW)[..., 0]
