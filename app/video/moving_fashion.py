"""Moving Fashion-MNIST: a garment moving in one of eight directions, or turning one way or the
other, over a few frames. The label is the motion, so one frame cannot tell it: the middle frame's
position and angle are drawn the same way for every class, and only the frames together show
where the garment goes.

Frames are rendered with bilinear interpolation (scipy.ndimage), so a diagonal step of 2 pixels
moves the garment √2 pixels along each axis, as a camera would see it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from app.preprocess import model_view
from app.training.fashion_mnist import load_fashion_mnist, to_input
from app.video.network_input import frame_indices
from pretrained.spec import Preprocessing
from pretrained.zoo import FASHION_MNIST_PREPROCESSING

FRAMES = 8
SIDE = 48  # canvas
GARMENT = 20  # the 28×28 garment shrunk to this side, so that its path stays on the canvas
STEP = 2.0  # pixels per frame along the direction of motion
TURN = 12.0  # degrees per frame
DIRECTIONS = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
CLASSES = (*(f"moves {d}" for d in DIRECTIONS), "turns clockwise", "turns anticlockwise")
SPLITS = {"train": (6000, 0), "test": (1000, 1)}  # clips and seed per split, from Fashion-MNIST's own splits
# A frame of any clip as these networks take it: grey, shorter side to 48, centre crop.
FRAME_VIEW = Preprocessing(input_size=SIDE, resize_size=SIDE, mean=FASHION_MNIST_PREPROCESSING.mean,
                           std=FASHION_MNIST_PREPROCESSING.std)


@dataclass(frozen=True, eq=False)
class MotionClips:
    clips: np.ndarray  # (N, FRAMES, SIDE, SIDE) uint8
    labels: np.ndarray  # (N,) int64, an index into CLASSES
    garments: np.ndarray  # (N,) int64: which Fashion-MNIST image each clip moves


def _garment(image: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 → (GARMENT, GARMENT) float32 in [0, 255], area-averaged."""
    return ndimage.zoom(image.astype(np.float32), GARMENT / image.shape[0], order=1, grid_mode=True,
                        mode="grid-constant")


def render(garment: np.ndarray, label: int, middle: tuple[float, float], angle: float) -> np.ndarray:
    """(FRAMES, SIDE, SIDE) uint8: `garment` (GARMENT², float) whose centre is at `middle` (row,
    column) and turned `angle` degrees in the middle of the clip, moving or turning as `label` says."""
    clips = np.zeros((FRAMES, SIDE, SIDE), np.float32)
    centre_in = (GARMENT - 1) / 2
    for t in range(FRAMES):
        offset = t - (FRAMES - 1) / 2  # frames from the middle of the clip
        row, col, turn = middle[0], middle[1], angle
        if label < len(DIRECTIONS):
            heading = math.radians(45 * label)
            row -= offset * STEP * math.sin(heading)  # rows grow downwards
            col += offset * STEP * math.cos(heading)
        else:
            turn += offset * TURN * (-1 if label == len(DIRECTIONS) else 1)
        # Output pixel p reads garment pixel R(turn)(p − centre) + garment centre: a growing `turn`
        # turns the garment anticlockwise on screen (rows grow downwards).
        radians = math.radians(turn)
        rotation = np.array([[math.cos(radians), math.sin(radians)], [-math.sin(radians), math.cos(radians)]])
        shift = np.array([centre_in, centre_in]) - rotation @ np.array([row, col])
        clips[t] = ndimage.affine_transform(garment, rotation, offset=shift, output_shape=(SIDE, SIDE), order=1,
                                            mode="constant")
    return np.clip(np.rint(clips), 0, 255).astype(np.uint8)


def make_clips(images: np.ndarray, count: int, seed: int) -> MotionClips:
    """`count` clips from `images` (N, 28, 28) uint8: garment, class, middle position and angle
    drawn with `seed`; the middle position is uniform over the places where every class's path
    stays on the canvas, and the angle uniform, so the middle frame says nothing of the class."""
    rng = np.random.default_rng(seed)
    garments = rng.integers(0, len(images), count)
    labels = rng.integers(0, len(CLASSES), count)
    reach = (FRAMES - 1) / 2 * STEP + GARMENT / 2  # from the middle position to the farthest garment edge
    middles = rng.uniform(reach - 0.5, SIDE - reach - 0.5, (count, 2))
    angles = rng.uniform(0, 360, count)
    clips = np.stack([render(_garment(images[g]), int(c), tuple(m), float(a))
                      for g, c, m, a in zip(garments, labels, middles, angles)])
    return MotionClips(clips, labels.astype(np.int64), garments.astype(np.int64))


def motion_clips(split: str) -> MotionClips:
    """The fixed training or test clips (from Fashion-MNIST's training or test images)."""
    count, seed = SPLITS[split]
    return make_clips(load_fashion_mnist(split)[0], count, seed)


def clip_input(clips: np.ndarray) -> torch.Tensor:
    """(N, T, H, W) uint8 → (N, 1, T, H, W) floats, normalised as Fashion-MNIST."""
    n, t, h, w = clips.shape
    return to_input(clips.reshape(n * t, h, w)).reshape(n, t, 1, h, w).transpose(1, 2)


def view_indices(count: int) -> np.ndarray:
    """Which of a clip's `count` frames these networks take: FRAMES evenly spaced (repeated, in
    order, when the clip has fewer)."""
    return frame_indices(count, FRAMES)


def clip_view(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 → (FRAMES, SIDE, SIDE) uint8: the frames of `view_indices`, each grey and
    cropped to its centre square."""
    return np.stack([model_view(frames[index], FRAME_VIEW)[..., 0] for index in view_indices(len(frames))])
