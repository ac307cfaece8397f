"""Loading registry models once per process and saying loudly when they are untrained."""

from __future__ import annotations

import streamlit as st

import pretrained
from app.images import DecodedImage
from app.predictions import Prediction, classify
from app.preprocess import preprocess
from components.capture_cache import heavy_turn
from components.deferred_work import finish_or_stop
from components.device_picker import current_device
from components.out_of_memory import stop_on_out_of_memory
from components.server_state import MODEL_CACHE


def _load(name: str, device: str) -> pretrained.LoadedModel:
    # Shared by every session: load_model returns it frozen (eval, no grad), never to be mutated.
    with heavy_turn():
        return pretrained.load_model(name, device)


def _key(name: str, device: str) -> tuple:
    return name, device, pretrained.weights_fingerprint(pretrained.get_spec(name))


def model_key(loaded: pretrained.LoadedModel) -> tuple:
    """The key of a loaded model in MODEL_CACHE, for caches of what is built from it."""
    return _key(loaded.spec.name, str(loaded.device))


def _wait_for_load(name: str, device: str) -> None:
    """Loads a model that is not in memory in the background, and stops the page here until it
    is: building a large network with random weights or reading its file takes seconds
    (ViT-B/16, VGG-16), and a control that chose it should answer at once."""
    key = _key(name, device)

    def work(report, should_stop) -> None:
        # The model goes to MODEL_CACHE, not into the job: a finished job would keep it alive.
        MODEL_CACHE.get(key, lambda: _load(name, device))

    finish_or_stop(("model", *key), work, f"Loading {pretrained.get_spec(name).title}")


def loaded_model(name: str) -> pretrained.LoadedModel:
    """The model on the session's device; reloaded when its weight file appears or changes."""
    spec = pretrained.get_spec(name)
    device = str(current_device())
    if _key(name, device) not in MODEL_CACHE:
        _wait_for_load(name, device)
    with st.spinner(f"Loading {spec.title}…"), stop_on_out_of_memory(f"loading {spec.title}"):
        return MODEL_CACHE.get(_key(name, device), lambda: _load(name, device))


def untrained_banner(loaded: pretrained.LoadedModel) -> bool:
    """Shows the banner when the weights are random; returns whether it did."""
    if loaded.weights.trained:
        return False
    st.error(
        f"**UNTRAINED WEIGHTS — {loaded.spec.title} has random weights.** "
        f"Nothing shown for it is what the trained network sees, and class predictions are hidden. "
        f"Why: {loaded.weights.problem}",
        icon=":material/warning:",
    )
    return True


@st.cache_data(max_entries=256, show_spinner=False)
def _top_k(image_sha: str, name: str, device: str, weights_fingerprint: tuple | None,
           _image: DecodedImage, _loaded: pretrained.LoadedModel) -> list[Prediction]:
    spec = _loaded.spec
    return classify(_loaded.model, preprocess(_image.rgb, spec.preprocessing), pretrained.class_names(spec))


def top_predictions(loaded: pretrained.LoadedModel, image: DecodedImage) -> list[Prediction]:
    """Top-5 classes, computed once per (image bytes, model, device, weights)."""
    spec = loaded.spec
    return _top_k(image.sha256, spec.name, str(loaded.device), pretrained.weights_fingerprint(spec),
                  image, loaded)
