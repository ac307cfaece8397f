"""Cached attention captures for the transformer pages.

A capture is keyed by what was fed (the image's SHA-256, or a Fashion-MNIST
test index), the model, the device, its weights and the input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

import pretrained
from app.attribution.methods import token_grad_cam
from app.preprocess import at_input_size, model_view, normalize
from app.training.fashion_mnist import test_image_rgb
from app.vit.capture import AttentionCapture, attention_memory_bytes, capture_attention
from components.capture_cache import captured, captured_in_background
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory

ATTENTION_BUDGET = 512 * 2**20  # bytes of attention kept for one capture
HALF_PRECISION_FROM = 128 * 2**20  # above this, keep float16


@dataclass(frozen=True, eq=False)
class ViewedAttention:
    capture: AttentionCapture
    view: np.ndarray  # (S, S, 3) uint8: what the model saw
    batch: torch.Tensor


def _capture(source: tuple, size: int, loaded: pretrained.LoadedModel, rgb: np.ndarray | None) -> ViewedAttention:
    spec = loaded.spec
    preprocessing = at_input_size(spec.preprocessing, size)
    view = test_image_rgb(source[1]) if source[0] == "fashion-mnist" else model_view(rgb, preprocessing)
    batch = normalize(view, preprocessing)
    memory = attention_memory_bytes(loaded.model, size)
    keep = torch.float16 if memory > HALF_PRECISION_FROM else torch.float32
    return ViewedAttention(capture_attention(loaded.model, batch, keep), view, batch)


def attention_of(loaded: pretrained.LoadedModel, source: tuple, size: int,
                 rgb: np.ndarray | None = None) -> ViewedAttention:
    """`source` is ("image", sha256) with `rgb`, or ("fashion-mnist", index)."""
    spec = loaded.spec
    key = ("attention", source, *model_key(loaded), size)

    def compute() -> ViewedAttention:
        return _capture(source, size, loaded, rgb)

    captured_in_background(key, compute, f"Running {spec.title} at {size}²")
    with st.spinner(f"Running {spec.title}…"), stop_on_out_of_memory(f"{spec.title} at {size}²"):
        return captured(key, compute)


def last_block_grad_cam(loaded: pretrained.LoadedModel, viewed: ViewedAttention, source: tuple, size: int,
                        target: int) -> np.ndarray:
    """Grad-CAM of the last block's tokens for class `target`, kept with the captures by input,
    model, size and class: it needs the model alone (captum's hooks), so it is computed once."""
    capture = viewed.capture
    key = ("vit grad-cam", source, *model_key(loaded), size, target)
    with stop_on_out_of_memory(f"Grad-CAM of {loaded.spec.title}"):
        return captured(key, lambda: token_grad_cam(loaded.model, f"blocks.{capture.layers - 1}.norm1", viewed.batch,
                                                    target, capture.prefix_tokens, capture.grid))


def within_budget(loaded: pretrained.LoadedModel, size: int) -> tuple[bool, str]:
    """Whether a capture at `size` fits the memory budget, and the cost in words."""
    tokens = (size // loaded.model.patch_embed.patch_size[0]) ** 2 + loaded.model.num_prefix_tokens
    memory = attention_memory_bytes(loaded.model, size)
    stored = memory // 2 if memory > HALF_PRECISION_FROM else memory
    words = (f"{tokens:,} tokens · {len(loaded.model.blocks)} layers × {loaded.model.blocks[0].attn.num_heads} heads"
             f" × {tokens:,}² = {memory / 2**20:,.0f} MB of attention in float32"
             + (f" (kept as {stored / 2**20:,.0f} MB in float16)" if stored != memory else ""))
    return stored <= ATTENTION_BUDGET, words
