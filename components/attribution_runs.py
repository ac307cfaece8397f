"""Attributions for the current image, model and class, computed once each.

Grad-CAM and Saliency take one backward pass and are computed on sight.
Integrated Gradients and Occlusion take tens of forward passes: they run on a
button press, with a progress bar, and are kept in the session.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

import pretrained
from app import attributions
from app.deletion import DeletionCurve, deletion_curve, random_deletion_curve
from components.cnn_capture import Inspection
from components.out_of_memory import stop_on_out_of_memory

_SLOW_RESULTS = "slow_attributions"
_KEEP = 8  # slow results kept per session


def _key(loaded: pretrained.LoadedModel, image_sha: str, target: int) -> tuple:
    return image_sha, loaded.spec.name, str(loaded.device), pretrained.weights_fingerprint(loaded.spec), target


@st.cache_data(max_entries=128, show_spinner=False)
def _fast(method: str, key: tuple, _loaded: pretrained.LoadedModel, _inspection: Inspection) -> np.ndarray:
    target = key[-1]
    if method == "Grad-CAM":
        return attributions.grad_cam(_loaded.model, _loaded.spec.cam_layer, _inspection.batch, target)
    return attributions.saliency(_loaded.model, _inspection.batch, target)


def fast_attribution(method: str, loaded, image_sha: str, target: int, inspection: Inspection) -> np.ndarray:
    with st.spinner(f"{method}…"), stop_on_out_of_memory(method):
        return _fast(method, _key(loaded, image_sha, target), loaded, inspection)


def slow_attribution(method: str, settings: tuple, loaded, image_sha: str, target: int) -> np.ndarray | None:
    """A result computed earlier in this session for exactly these settings, or None."""
    return st.session_state.get(_SLOW_RESULTS, {}).get((method, settings, *_key(loaded, image_sha, target)))


def run_slow_attribution(method: str, settings: tuple, loaded, image_sha: str, target: int,
                         compute: Callable[[Callable[[float], None]], np.ndarray]) -> np.ndarray:
    bar = st.progress(0.0, text=f"{method}: starting…")
    with stop_on_out_of_memory(method):
        result = compute(lambda done: bar.progress(done, text=f"{method}: {done:.0%}"))
    bar.empty()
    results = st.session_state.setdefault(_SLOW_RESULTS, {})
    results[(method, settings, *_key(loaded, image_sha, target))] = result
    while len(results) > _KEEP:
        results.pop(next(iter(results)))
    return result


@st.cache_data(max_entries=128, show_spinner=False)
def _deletion(method: str, map_digest: str, key: tuple, _loaded, _inspection: Inspection,
              _attribution: np.ndarray | None) -> DeletionCurve:
    target = key[-1]
    if _attribution is None:
        return random_deletion_curve(_loaded.model, _inspection.batch, target)
    return deletion_curve(_loaded.model, _inspection.batch, _attribution, target)


def deletion(method: str, attribution: np.ndarray | None, loaded, image_sha: str, target: int,
             inspection: Inspection) -> DeletionCurve:
    """The deletion curve of one map (None: a random order), cached by the map's content."""
    digest = "random" if attribution is None else str(hash(attribution.tobytes()))
    return _deletion(method, digest, _key(loaded, image_sha, target), loaded, inspection, attribution)
