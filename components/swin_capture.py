"""Cached pieces of the Swin page: pictures and animation frames per (input, geometry),
and window-attention captures per (input, model) in the shared capture cache. Redraws
then only assemble figures."""

from __future__ import annotations

import numpy as np
import streamlit as st

import pretrained
from app.preprocess import at_input_size, model_view, normalize
from app.swin.capture import SwinCapture, capture_swin
from app.swin.figures import frames_as_png, partition_picture, shift_frames
from app.swin.windows import StageGeometry
from app.training.fashion_mnist import test_image_rgb
from components.capture_cache import captured, captured_in_background, heavy_turn
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory


def input_view(source: tuple, spec: pretrained.ModelSpec, size: int, rgb: np.ndarray | None) -> np.ndarray:
    """The picture the model sees at `size` (or the Fashion-MNIST test image)."""
    if source[0] == "fashion-mnist":
        return test_image_rgb(source[1])
    return model_view(rgb, at_input_size(spec.preprocessing, size))


@st.cache_data(max_entries=64, show_spinner=False)
def partition_pictures(source: tuple, geometry: StageGeometry, _view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(regular, shifted) window partitions drawn on the picture."""
    return partition_picture(_view, geometry, shifted=False), partition_picture(_view, geometry, shifted=True)


@st.cache_data(max_entries=32, show_spinner=False)
def animation_frames(source: tuple, geometry: StageGeometry, _view: np.ndarray) -> tuple[list[str], tuple[int, int]]:
    """The cyclic shift's frames as PNG data URIs, and their (width, height) in px."""
    with heavy_turn():
        frames = shift_frames(_view, geometry)
        return frames_as_png(frames), (frames[0].shape[1], frames[0].shape[0])


def swin_capture(loaded: pretrained.LoadedModel, source: tuple, view: np.ndarray) -> SwinCapture:
    spec = loaded.spec
    key = ("swin", source, *model_key(loaded))

    def compute() -> SwinCapture:
        return capture_swin(loaded.model, normalize(view, spec.preprocessing))

    captured_in_background(key, compute, f"Running {spec.title}")
    with st.spinner(f"Running {spec.title}…"), stop_on_out_of_memory(spec.title):
        return captured(key, compute)
