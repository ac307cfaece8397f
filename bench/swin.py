"""The Swin page's views redrawn from cache, and the window-attention capture, in one run.

    .venv/bin/python -m bench.swin [--repeats 9]

Swin-T geometry at 224² on the cat, every stage: what the page does on a
redraw once the pictures and animation frames are cached (assembling every
figure and serialising it), and the first, uncached time. Capture of all 12
blocks of an untrained Swin-T at 224² against a bare forward. Last line:
swin: warm_ms=X capture_ms=Y
"""

from __future__ import annotations

import argparse
import time

import plotly.io
import timm
import torch

from app.cnn.figures import mosaic_figure
from app.images import decode_image
from app.preprocess import model_view, normalize
from app.samples import sample_bytes
from app.serving.allocator import keep_freed_memory
from app.swin.capture import capture_swin
from app.swin.figures import (
    frames_as_png,
    mask_figure,
    partition_picture,
    patch_merging_figure,
    reach_figure,
    reach_picture,
    shift_animation_figure,
    shift_frames,
    window_attention_mosaic,
    window_labels_figure,
    windows_table,
)
from app.swin.windows import region_labels, shifted_window_mask, swin_reach, swin_stages, window_partition
from bench.feature_maps import median_seconds
from pretrained import get_spec


def cached_pieces(view, geometry):
    pictures = (partition_picture(view, geometry, False), partition_picture(view, geometry, True))
    frames = shift_frames(view, geometry) if geometry.shift else []
    return pictures, (frames_as_png(frames), (frames[0].shape[1], frames[0].shape[0])) if frames else None


def redraw(view, stages, geometry, pieces, capture) -> None:
    """Everything a redraw of the page builds for one stage, from the cached pieces."""
    figures = [patch_merging_figure(stages)]
    windows_table(stages)
    if geometry.shift:
        frames, size = pieces[1]
        figures.append(shift_animation_figure(frames, geometry, size))
        index = geometry.window_count - 1
        labels = region_labels(geometry.padded, geometry.window, geometry.shift)
        window_labels = window_partition(labels[None, ..., None], geometry.window)[index].reshape(-1).numpy()
        figures += [window_labels_figure(geometry, index),
                    mask_figure(shifted_window_mask(geometry)[index], window_labels, "mask")]
    maps = swin_reach(stages, (2, 2, 6, 2), (28, 28))
    reach_picture(view, maps[1], (28, 28))
    figures.append(reach_figure([float(m.mean()) for m in maps], [1.0] * len(maps), [str(i) for i in range(12)]))
    block = capture.block(geometry.stage, min(1, len([b for b in capture.blocks if b.stage == geometry.stage]) - 1))
    attention, hidden, _ = block.token_attention(geometry.grid[0] - 1, 0)
    figures.append(mosaic_figure(window_attention_mosaic(view, attention, hidden, (geometry.grid[0] - 1, 0))))
    for figure in figures:
        plotly.io.to_json(figure)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    keep_freed_memory()
    spec = get_spec("swin_t")
    view = model_view(decode_image(sample_bytes("cat")).rgb, spec.preprocessing)
    stages = swin_stages(224, 4, 7, 96)
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval().requires_grad_(False)
    batch = normalize(view, spec.preprocessing)
    capture = capture_swin(model, batch)

    first, warm = [], []
    for geometry in stages:
        start = time.perf_counter()
        pieces = cached_pieces(view, geometry)
        redraw(view, stages, geometry, pieces, capture)
        first.append(time.perf_counter() - start)
        warm.append(median_seconds(lambda: redraw(view, stages, geometry, pieces, capture), args.repeats,
                                   lambda: None))

    def bare():
        with torch.inference_mode():
            model(batch)

    forward_s = median_seconds(bare, args.repeats, lambda: None)
    capture_s = median_seconds(lambda: capture_swin(model, batch), args.repeats, lambda: None)
    print("first time per stage (ms): " + ", ".join(f"{t * 1e3:.0f}" for t in first))
    print("warm redraw per stage (ms): " + ", ".join(f"{t * 1e3:.0f}" for t in warm))
    print(f"Swin-T 224²: bare forward {forward_s * 1e3:.1f} ms, capture of 12 blocks {capture_s * 1e3:.1f} ms "
          f"({capture_s / forward_s:.2f}×)")
    print(f"swin: warm_ms={max(warm) * 1e3:.0f} capture_ms={capture_s * 1e3:.0f}")


if __name__ == "__main__":
    main()
