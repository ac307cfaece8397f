"""Clips made by the project, so the video page has something to show offline: a camera panning
across the bundled cat photo while zooming in, and a test clip of Moving Fashion-MNIST."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn.functional as F

from app.video.decode import Clip

PAN_FRAMES, PAN_FPS, PAN_SIZE = 16, 8.0, (240, 320)  # frames, frames per second, (height, width)
GARMENT_FPS, GARMENT_SEED = 4.0, 7
CLIP_SAMPLES = {"pan_zoom": "Camera pan and zoom over the cat", "garment": "A moving garment (Moving Fashion-MNIST)"}


def pan_and_zoom(rgb: np.ndarray, frames: int = PAN_FRAMES, size: tuple[int, int] = PAN_SIZE) -> np.ndarray:
    """(frames, H, W, 3) uint8: a window of the picture's aspect `size` that slides from its left
    to its right third while shrinking to 70 % (the camera zooms in), resampled bilinearly."""
    picture = torch.tensor(rgb).permute(2, 0, 1)[None].float()  # a copy: decoded pictures are read-only
    height, width = rgb.shape[:2]
    out_h, out_w = size
    crops = []
    for t in np.linspace(0.0, 1.0, frames).tolist():
        scale = 1.0 - 0.3 * t  # of the largest window that fits
        win_h = scale * min(height, width * out_h / out_w)
        win_w = win_h * out_w / out_h
        left = (width - win_w) * (0.2 + 0.6 * t)
        top = (height - win_h) / 2
        # affine_grid maps the output's [-1, 1] square onto the window, in the picture's [-1, 1] coordinates
        theta = torch.tensor([[[win_w / width, 0.0, (2 * left + win_w) / width - 1],
                               [0.0, win_h / height, (2 * top + win_h) / height - 1]]], dtype=torch.float32)
        grid = F.affine_grid(theta, [1, 3, out_h, out_w], align_corners=False)
        crops.append(F.grid_sample(picture, grid, mode="bilinear", align_corners=False)[0])
    return torch.stack(crops).clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def sample_clip(key: str) -> Clip:
    """One of CLIP_SAMPLES as a clip (the garment needs Fashion-MNIST: DatasetMissing without it)."""
    if key == "pan_zoom":
        from app.images import decode_image
        from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes

        frames, fps = pan_and_zoom(decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb), \
            PAN_FPS
    else:
        from app.training.fashion_mnist import load_fashion_mnist
        from app.video.moving_fashion import make_clips

        made = make_clips(load_fashion_mnist("test")[0], 1, GARMENT_SEED)  # from images no network trained on
        frames, fps = np.repeat(made.clips[0][..., None], 3, axis=-1), GARMENT_FPS
    count = len(frames)
    return Clip(frames=frames, times=np.arange(count) / fps, fps=fps, size=(frames.shape[2], frames.shape[1]),
                duration=count / fps, decoded=count / fps, name=CLIP_SAMPLES[key],
                sha256=hashlib.sha256(frames.tobytes()).hexdigest())
