"""The video page's Kinetics networks on a clip: one extractor per network (tracing MViT takes
seconds), one capture of every listed layer per clip and network, and Grad-CAM per class and
layer; each computed in the background once per server and shared by every session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import pretrained
from app.video.decode import Clip
from app.video.network_input import clip_batch, clip_view
from app.video.space_time import Capture, SpaceTimeExtractor, SpaceTimeLayer
from app.video.space_time_cam import over_frames, space_time_grad_cam
from components.capture_cache import captured, captured_in_background
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.server_state import FEATURE_EXTRACTORS, MODEL_CACHE

# Every network gets the clip's frames as decoded (MViT's position table needs exactly 16).
NETWORK_FRAMES = 16


@dataclass(frozen=True, eq=False)
class ClipInspection:
    # The layers, not the extractor: a capture kept in the shared cache must not keep its network.
    layers: tuple[SpaceTimeLayer, ...]
    capture: Capture
    view: np.ndarray  # (T, S, S, 3) uint8: the frames the network saw

    def layer(self, name: str) -> SpaceTimeLayer:
        return next(info for info in self.layers if info.name == name)


def _extractor(loaded: pretrained.LoadedModel) -> SpaceTimeExtractor:
    # Under the network's own key, as the image CNNs' extractors: it goes when the network does.
    FEATURE_EXTRACTORS.retain(lambda held: held in MODEL_CACHE)
    spec = loaded.spec
    return FEATURE_EXTRACTORS.get(model_key(loaded), lambda: SpaceTimeExtractor(
        loaded.model, spec.architecture, spec.layers, NETWORK_FRAMES, spec.preprocessing.input_size))


def inspect_clip(loaded: pretrained.LoadedModel, clip: Clip) -> ClipInspection:
    """Every listed layer of the network on the clip, and its logits."""
    spec = loaded.spec

    def compute() -> ClipInspection:
        view = clip_view(clip.frames, spec.preprocessing, NETWORK_FRAMES)
        extractor = _extractor(loaded)
        return ClipInspection(extractor.layers, extractor.capture(clip_batch(view, spec.preprocessing)), view)

    with stop_on_out_of_memory(f"running {spec.title}"):
        key = ("space-time", clip.sha256, *model_key(loaded))
        captured_in_background(key, compute, f"Running {spec.title} on the clip")
        return captured(key, compute)


def clip_grad_cam(loaded: pretrained.LoadedModel, clip: Clip, view: np.ndarray, layer: str,
                  target: int) -> torch.Tensor:
    """(frames, S, S) Grad-CAM of class `target` at `layer`, spread over `view`, the frames the
    network saw (its inspection's)."""
    spec = loaded.spec

    def compute() -> torch.Tensor:
        batch = clip_batch(view, spec.preprocessing)
        cam = space_time_grad_cam(_extractor(loaded), batch, layer, target)
        return over_frames(cam, NETWORK_FRAMES, spec.preprocessing.input_size)

    with stop_on_out_of_memory(f"Grad-CAM of {spec.title}"):
        key = ("space-time grad-cam", clip.sha256, layer, target, *model_key(loaded))
        captured_in_background(key, compute, f"Grad-CAM of {spec.title} (a backward pass)")
        return captured(key, compute)
