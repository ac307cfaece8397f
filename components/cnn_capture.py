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
from app.classify import model_view, normalize
from app.feature_capture import Capture, FeatureExtractor, capture_activations
from app.images import DecodedImage
from components.out_of_memory import stop_on_out_of_memory


@dataclass(frozen=True, eq=False)
class Inspection:
    extractor: FeatureExtractor
    capture: Capture
    view: np.ndarray  # (S, S, 3) uint8: the crop the model saw
    batch: torch.Tensor  # (1, 3, S, S): the same, normalised


@st.cache_resource(max_entries=4, show_spinner=False)
def _extractor(name: str, device: str, weights_fingerprint: tuple | None,
               _loaded: pretrained.LoadedModel) -> FeatureExtractor:
    spec = _loaded.spec
    return FeatureExtractor(_loaded.model, spec.layers, spec.framework, spec.preprocessing.input_size,
                            with_logits=spec.has_classifier)


# Captures hold every layer of one image (tens of MB): few, and shared read-only.
@st.cache_resource(max_entries=12, ttl=3600, show_spinner=False)
def _inspection(image_sha: str, name: str, device: str, weights_fingerprint: tuple | None,
                _extractor: FeatureExtractor, _image: DecodedImage,
                _loaded: pretrained.LoadedModel) -> Inspection:
    view = model_view(_image.rgb, _loaded.spec.preprocessing)
    batch = normalize(view, _loaded.spec.preprocessing)
    return Inspection(_extractor, capture_activations(_extractor, batch), view, batch)


def inspect_image(loaded: pretrained.LoadedModel, image: DecodedImage) -> Inspection:
    spec = loaded.spec
    key = (spec.name, str(loaded.device), pretrained.weights_fingerprint(spec))
    with st.spinner(f"Running {spec.title} on the image…"), stop_on_out_of_memory(f"running {spec.title}"):
        extractor = _extractor(*key, loaded)
        return _inspection(image.sha256, *key, extractor, image, loaded)
