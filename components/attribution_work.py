"""Attributions for the current image, model and class, computed once each,
with their faithfulness curves and the randomised-weights sanity check.

Grad-CAM and Saliency take one backward pass and are computed on sight.
Integrated Gradients and Occlusion take tens of forward passes: they run on a
button press, with a progress bar, and are kept in the session. The faithfulness
curves take 42 forward passes per map: a background job the page polls.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

import pretrained
from app.attribution import methods as attributions
from app.attribution.faithfulness import ConstantMap, Faithfulness, Stopped, faithfulness, random_order_map
from app.attribution.faithfulness_table import RANDOM_ORDER
from app.attribution.sanity_check import randomised_model
from app.serving.background_jobs import JobSnapshot
from components.cnn_capture import Inspection
from components.deferred_work import deferred
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.server_state import RANDOMISED_MODELS
from components.workspace import keep_result, kept_result

_SLOW_RESULTS = "slow_attributions"
_KEEP = 8  # slow results kept per session
SANITY_SEED = 0


def subject(loaded: pretrained.LoadedModel, image_sha: str, target: int) -> tuple:
    """What an attribution explains: an image, a loaded model (as keyed in the model cache), a class."""
    return (image_sha, *model_key(loaded), target)


def randomised_twin(loaded: pretrained.LoadedModel) -> torch.nn.Module:
    """`loaded`'s architecture with seeded random weights, on its device."""
    with st.spinner(f"Building {loaded.spec.title} with random weights…"), \
            stop_on_out_of_memory(f"building {loaded.spec.title} with random weights"):
        return _twin(loaded)


def _twin(loaded: pretrained.LoadedModel) -> torch.nn.Module:
    return RANDOMISED_MODELS.get((loaded.spec.name, str(loaded.device), SANITY_SEED),
                           lambda: randomised_model(loaded.spec, SANITY_SEED).to(loaded.device))


@st.cache_data(max_entries=64, show_spinner=False)
def _gradient_maps(key: tuple, _model: torch.nn.Module, cam_layer: str, _batch: torch.Tensor) -> dict[str, np.ndarray]:
    return attributions.gradient_maps(_model, cam_layer, _batch, key[-1])


def fast_attributions(loaded, image_sha: str, target: int, inspection: Inspection) -> dict[str, np.ndarray]:
    """Grad-CAM and Saliency of the loaded model, from one pass (read once per run: the cache
    hands out a copy at each read)."""
    with st.spinner("Grad-CAM and Saliency…"), stop_on_out_of_memory("Grad-CAM and Saliency"):
        return _gradient_maps(subject(loaded, image_sha, target), loaded.model, loaded.spec.cam_layer,
                              inspection.batch)


def randomised_maps(loaded: pretrained.LoadedModel, image_sha: str, target: int,
                    inspection: Inspection) -> JobSnapshot:
    """Grad-CAM and Saliency of the randomised twin, as a background job: building the twin of
    a large network takes seconds (VGG-16: 138 M random weights)."""
    def work(report, should_stop) -> dict[str, np.ndarray]:
        twin = _twin(loaded)
        report(0.5, None)
        return attributions.gradient_maps(twin, loaded.spec.cam_layer, inspection.batch, target)

    return deferred(("randomised maps", *subject(loaded, image_sha, target)), work,
                    f"Random-weights maps, {loaded.spec.title}", shared=True)


def slow_attribution(method: str, settings: tuple, loaded, image_sha: str, target: int) -> np.ndarray | None:
    """A result computed earlier for exactly these settings (in this session, or kept in the
    workspace: a reload does not pay for it again), or None."""
    key = (method, settings, *subject(loaded, image_sha, target))
    results = st.session_state.setdefault(_SLOW_RESULTS, {})
    if key not in results:
        kept = kept_result(_kept_key(key), lambda data, _: _array_from(data), method, "run it again")
        if kept is None:
            return None
        results[key] = kept
    return results[key]


def _array_from(data: bytes) -> np.ndarray:
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        return stored["attribution"]


def _kept_key(key: tuple) -> str:
    """The workspace's name for a slow result: a digest of what it was computed from."""
    return "attribution:" + hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()


def _keep(key: tuple, result: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, attribution=result)
    keep_result(_kept_key(key), buffer.getvalue(), "This result")


def run_slow_attribution(method: str, settings: tuple, loaded, image_sha: str, target: int,
                         compute: Callable[[Callable[[float], None]], np.ndarray]) -> np.ndarray:
    bar = st.progress(0.0, text=f"{method}: starting…")
    with stop_on_out_of_memory(method):
        result = compute(lambda done: bar.progress(done, text=f"{method}: {done:.0%}"))
    bar.empty()
    results = st.session_state.setdefault(_SLOW_RESULTS, {})
    key = (method, settings, *subject(loaded, image_sha, target))
    results[key] = result
    _keep(key, result)
    while len(results) > _KEEP:
        results.pop(next(iter(results)))
    return result


def _faithfulness_work(model: torch.nn.Module, batch: torch.Tensor, maps: dict[str, np.ndarray], target: int):
    def work(report, should_stop) -> dict[str, Faithfulness | None]:
        results = {}
        for done, (method, attribution) in enumerate(maps.items(), start=1):
            try:
                results[method] = faithfulness(model, batch, attribution, target, should_stop=should_stop)
            except ConstantMap:
                results[method] = None
            except Stopped:
                break
            report(done / len(maps), None)
        return results

    return work


def faithfulness_of(maps: dict[str, np.ndarray], loaded, image_sha: str, target: int,
                    inspection: Inspection) -> JobSnapshot:
    """Deletion and insertion curves of each map and of a seeded random order (RANDOM_ORDER),
    as a background job (42 images through the model per map); its result maps each name to
    the curves, or to None for a constant map, which orders nothing."""
    maps = {**maps, RANDOM_ORDER: random_order_map(inspection.batch.shape[-1])}
    digests = tuple((method, hashlib.sha256(np.ascontiguousarray(attribution).tobytes()).hexdigest())
                    for method, attribution in maps.items())
    return deferred(("faithfulness", *subject(loaded, image_sha, target), digests),
                    _faithfulness_work(loaded.model, inspection.batch, maps, target),
                    f"Faithfulness curves, {loaded.spec.title}", shared=True)
