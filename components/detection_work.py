"""The DETR view's models, scenes and captures, kept per server: the small DETR and its scenes
once, each capture in the shared capture cache by input and model."""

from __future__ import annotations

import numpy as np
import streamlit as st

import pretrained
from app.detection.capture import DetrCapture, capture_detr, capture_tiny_detr
from app.detection.predict import scene_input
from app.detection.scenes import (
    TEST_SCENES,
    TEST_SEED,
    TRAINING_BATCH,
    DetectionScenes,
    make_detection_scenes,
)
from app.detection.shipped import ShippedTinyDetr, shipped_tiny_detr
from app.figures.plot_images import EncodedPicture, encoded
from app.images import DecodedImage
from app.preprocess import model_view, normalize
from app.training.fashion_mnist import load_fashion_mnist
from components.capture_cache import captured, captured_in_background
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.server_state import DETECTION_MODELS, DETECTION_SCENES


def tiny_detr() -> ShippedTinyDetr:
    return DETECTION_MODELS.get("tiny detr", shipped_tiny_detr)


def detection_scenes(split: str) -> DetectionScenes:
    """"train": the recipe's first batch (step 0); "test": the scenes its mAP is measured on.
    Raises DatasetMissing without Fashion-MNIST."""
    def build() -> DetectionScenes:
        images, labels = load_fashion_mnist(split)
        if split == "train":
            return make_detection_scenes(images, labels, TRAINING_BATCH, seed=0)
        return make_detection_scenes(images, labels, TEST_SCENES, TEST_SEED)

    return DETECTION_SCENES.get(split, build)


def tiny_capture(split: str, index: int) -> DetrCapture:
    shipped = tiny_detr()
    key = ("tiny detr", split, index, shipped.map50)
    scene = detection_scenes(split).images[index]
    return captured(key, lambda: capture_tiny_detr(shipped.model, scene_input(scene[None])))


def detr_capture(loaded: pretrained.LoadedModel,
                 image: DecodedImage) -> tuple[DetrCapture, np.ndarray, EncodedPicture]:
    """DETR on the current image at its processor's size (shorter side 800, longer at most 1,333),
    and that picture, also PNG-encoded once with the capture (32 ms a rerun at 1202×800 otherwise)."""
    key = ("detr", image.sha256, *model_key(loaded))

    def compute() -> tuple[DetrCapture, np.ndarray, EncodedPicture]:
        view = model_view(image.rgb, loaded.spec.preprocessing)
        return capture_detr(loaded.model, normalize(view, loaded.spec.preprocessing)), view, encoded(view)

    captured_in_background(key, compute, f"Running {loaded.spec.title}")
    with st.spinner(f"Running {loaded.spec.title}…"), stop_on_out_of_memory(loaded.spec.title):
        return captured(key, compute)
