""""Fashion-MNIST scenes": two to four garments pasted on a blank canvas, a segmentation task
built from real data that is on this machine offline. Each garment's silhouette (its pixels
brighter than a threshold) takes its class + 1; the canvas is class 0, background. A garment
pasted later covers those before it, so overlaps occlude as objects do. Fully determined by
the seed: scene i of a split is the same on every machine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GARMENT = 28  # Fashion-MNIST's side
SILHOUETTE = 24  # a pixel brighter than this (of 255) belongs to the garment
CLASSES = ("background", "T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
           "bag", "ankle boot")


@dataclass(frozen=True, eq=False)
class Scenes:
    images: np.ndarray  # (N, side, side) uint8
    masks: np.ndarray  # (N, side, side) uint8, 0 = background, 1..10 = garment class + 1


def make_scenes(images: np.ndarray, labels: np.ndarray, count: int, seed: int, side: int = 64,
                garments: tuple[int, int] = (2, 4)) -> Scenes:
    """`count` scenes drawn from (images (M, 28, 28) uint8, labels (M,)) with numpy's PCG64 seeded
    by `seed`: per scene, how many garments, which ones and where."""
    generator = np.random.default_rng(seed)
    canvas = np.zeros((count, side, side), np.uint8)
    masks = np.zeros((count, side, side), np.uint8)
    for n in range(count):
        for index in generator.integers(0, len(images), generator.integers(garments[0], garments[1] + 1)):
            top, left = generator.integers(0, side - GARMENT + 1, 2)
            garment = images[index]
            solid = garment > SILHOUETTE  # (28, 28)
            window = (n, slice(top, top + GARMENT), slice(left, left + GARMENT))
            canvas[window] = np.where(solid, garment, canvas[window])
            masks[window] = np.where(solid, labels[index] + 1, masks[window])
    return Scenes(canvas, masks)
