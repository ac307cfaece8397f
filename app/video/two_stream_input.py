"""What a two-stream network's motion stream reads beside its appearance frame. Simonyan and
Zisserman (2014) stack optical flow, here from torchvision's RAFT (Teed and Deng 2020); the
project's TwoStream network reads a cheap stand-in, the signed difference of consecutive grey
frames, computed here exactly as that network computes it so the page shows what it reads.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.functional as TF
from torchvision.models.optical_flow import Raft_Small_Weights
from torchvision.utils import flow_to_image

from app.figures.colormaps import apply_colormap
from app.video.moving_fashion import clip_input

RAFT_SIDE = 256  # the longer side RAFT gets at most: its cost grows with the pixels, on CPU too
# RAFT's correlation pyramid halves its 1/8-resolution features three times and needs 2 cells at
# the coarsest level (torchvision refuses less): 2 · 2³ · 8 = 128 px on each side.
RAFT_MIN_SIDE = 128
DIVERGING = "RdBu_r"  # white at 0, red where a frame brightens, blue where it darkens


def grey_frames(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 → (T, H, W) uint8: torchvision's ITU-R 601 luma, truncated to a level."""
    rgb = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return TF.rgb_to_grayscale(rgb)[:, 0].numpy()


def frame_differences(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 → (T − 1, H, W) float32: frame t + 1 minus frame t, in grey, in the units
    of the project's TwoStream motion stream (grey levels / 255 / Fashion-MNIST's std).

    The grey is torchvision's ITU-R 601 luma truncated to a level, as `model_view` makes a
    one-channel model's view; the normalisation is `clip_input`'s; the subtraction is
    TwoStream's own, so on a 48×48 clip this is what that network's motion stream takes."""
    clips = clip_input(grey_frames(frames)[None])  # (1, 1, T, H, W) normalised
    return (clips[:, 0, 1:] - clips[:, 0, :-1])[0].numpy()


def raft_size(height: int, width: int) -> tuple[int, int]:
    """The (height, width) RAFT gets for a frame: shrunk (never enlarged) to at most RAFT_SIDE on
    its longer side, each side rounded to a multiple of 8 (RAFT works at 1/8 resolution), and at
    least RAFT_MIN_SIDE (a frame that small, or narrower than 1:2, is stretched to it)."""
    scale = min(1.0, RAFT_SIDE / max(height, width))
    return tuple(max(RAFT_MIN_SIDE, round(side * scale / 8) * 8) for side in (height, width))


def raft_flow(model: torch.nn.Module, frame_a: np.ndarray, frame_b: np.ndarray, iterations: int = 12) -> np.ndarray:
    """Two (H, W, 3) uint8 frames → (2, H', W') float32 optical flow from `frame_a` to `frame_b`
    ((x, y) displacement in pixels of the frames resized to `raft_size`), the last of RAFT's
    `iterations` refinements. Preprocessed by torchvision's own preset for its RAFT weights."""
    size = list(raft_size(*frame_a.shape[:2]))
    pair = [TF.resize(torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None], size, antialias=True)
            for frame in (frame_a, frame_b)]
    with torch.inference_mode():
        first, second = Raft_Small_Weights.C_T_V2.transforms()(*pair)  # [0, 255] → [−1, 1]
        return model(first, second, num_flow_updates=iterations)[-1][0].numpy()


def motion_picture(motion: np.ndarray, bound: float | None = None) -> np.ndarray:
    """A motion map as an (H, W, 3) uint8 picture: a (2, H, W) flow in torchvision's colour wheel
    (hue the direction, saturation the speed relative to the fastest pixel); an (H, W) difference
    on a diverging scale from −`bound` to `bound` (default: its largest magnitude), 0 in the
    middle, so pass one bound for every difference of a clip to compare them."""
    if motion.ndim == 3 and motion.shape[0] == 2:
        return flow_to_image(torch.from_numpy(np.ascontiguousarray(motion, np.float32))).permute(1, 2, 0).numpy()
    if motion.ndim != 2:
        raise ValueError(f"a (2, H, W) flow or one (H, W) difference, not {motion.shape}")
    bound = float(np.abs(motion).max()) if bound is None else bound
    unit = 0.5 + motion / (2 * bound) if bound > 0 else np.full(motion.shape, 0.5)
    return apply_colormap(unit, DIVERGING)
