"""The scenes the project's U-Nets are trained and tested on: fixed splits of Fashion-MNIST scenes
(the training scenes from the training images, the test scenes from the test images), and a
photo as they see it (fed, like the scenes, through app.training.fashion_mnist.to_input)."""

from __future__ import annotations

import numpy as np

from app.preprocess import model_view
from app.segmentation.scenes import Scenes, make_scenes
from app.training.fashion_mnist import load_fashion_mnist
from pretrained.spec import Preprocessing
from pretrained.zoo import FASHION_MNIST_PREPROCESSING

SIDE = 64
SPLITS = {"train": (6000, 0), "test": (1000, 1)}  # scenes and seed per split
# A photo as the U-Nets take it: grey, shorter side to 64, centre crop.
PHOTO_VIEW = Preprocessing(input_size=SIDE, resize_size=SIDE, mean=FASHION_MNIST_PREPROCESSING.mean,
                           std=FASHION_MNIST_PREPROCESSING.std)


def fashion_scenes(split: str) -> Scenes:
    count, seed = SPLITS[split]
    images, labels = load_fashion_mnist(split)
    return make_scenes(images, labels, count, seed, SIDE)


def photo_view(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 → (64, 64) uint8 grey, the crop the U-Nets see."""
    return model_view(rgb, PHOTO_VIEW)[..., 0]
