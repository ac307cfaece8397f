"""Cached per-model extractors and per-image captures for the CNN pages.

The forward pass runs once per (image bytes, model, device, weights); every
slider and colour choice afterwards only redraws from the cached capture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

import pretrained
from app.cnn.capture import Capture, FeatureExtractor, LayerInfo, capture_activations
from app.images import DecodedImage
from app.preprocess import model_view, normalize
from components.capture_cache import captured
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.server_state import FEATURE_EXTRACTORS, MODEL_CACHE


@dataclass(frozen=True, eq=False)
class Inspection:
    # The layers, not the extractor: a capture kept in the shared cache must not keep its model.
    layers: tuple[LayerInfo, ...]
    capture: Capture
    view: np.ndarray  # (S, S, 3) uint8: the crop the model saw
    batch: torch.Tensor  # (1, 3, S, S): the same, normalised


def _extractor(key: tuple, loaded: pretrained.LoadedModel) -> FeatureExtractor:
    FEATURE_EXTRACTORS.retain(lambda held: held in MODEL_CACHE)
    spec = loaded.spec
    return FEATURE_EXTRACTORS.get(key, lambda: FeatureExtractor(
        loaded.model, spec.layers, spec.framework, spec.preprocessing.input_size, with_logits=spec.has_classifier))


def _inspect(extractor: FeatureExtractor, image: DecodedImage, loaded: pretrained.LoadedModel) -> Inspection:
    view = model_view(image.rgb, loaded.spec.preprocessing)
    batch = normalize(view, loaded.spec.preprocessing)
    return Inspection(extractor.layers, capture_activations(extractor, batch), view, batch)


def inspect_image(loaded: pretrained.LoadedModel, image: DecodedImage) -> Inspection:
    spec = loaded.spec
    key = model_key(loaded)
    with st.spinner(f"Running {spec.title} on the image…"), stop_on_out_of_memory(f"running {spec.title}"):
        extractor = _extractor(key, loaded)
        # Captures hold every layer of one image (tens of MB): shared read-only, within a byte budget.
        return captured(("cnn", image.sha256, *key), lambda: _inspect(extractor, image, loaded))
