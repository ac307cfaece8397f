"""The Inside-the-Transformer page's computations, kept in the shared capture cache by input,
model and setting: a redraw only assembles pictures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import pretrained
from app.images import DecodedImage
from app.preprocess import at_input_size, normalize
from app.swin.capture import swin_layout
from app.swin.windows import swin_reach
from app.transformer.image_walkthrough import ImageWalkthrough, walk_through
from app.transformer.matched_depth import feature_norm, layer_at
from app.vit.maps import mean_attention_distance
from components.capture_cache import captured, captured_in_background
from components.cnn_capture import inspect_image
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.swin_capture import input_view, swin_capture
from components.vit_capture import attention_of


def walkthrough_of(loaded: pretrained.LoadedModel, source: tuple, size: int, rgb: np.ndarray | None,
                   layer: int, head: int) -> tuple[ImageWalkthrough, np.ndarray]:
    """The walk-through of block `layer`, head `head`, and the picture the model saw (made once,
    with it); a walk that takes longer than a moment shows a progress bar."""
    key = ("walkthrough", source, *model_key(loaded), size, layer, head)

    def compute() -> tuple[ImageWalkthrough, np.ndarray]:
        view = input_view(source, loaded.spec, size, rgb)
        return walk_through(loaded.model, normalize(view, at_input_size(loaded.spec.preprocessing, size)),
                            layer, head), view

    captured_in_background(key, compute, f"Running {loaded.spec.title} to block {layer}")
    with st.spinner(f"Running {loaded.spec.title} to block {layer}…"), stop_on_out_of_memory(loaded.spec.title):
        return captured(key, compute)


@dataclass(frozen=True)
class FamilyMap:
    family: str  # "CNN", "ViT", "DINO", "Swin"
    title: str
    trained: bool
    view: np.ndarray  # the picture the model saw
    values: np.ndarray  # (h, w) non-negative: feature norm or CLS attention
    what: str  # what the map is, e.g. "feature norm at blocks.3 (5 of 9 layers)"
    reach: str  # its receptive field or attention distance, in words


def cnn_map(loaded: pretrained.LoadedModel, image: DecodedImage, percent: int) -> FamilyMap:
    inspection = inspect_image(loaded, image)
    spatial = [layer for layer in inspection.layers if layer.is_spatial]
    layer = spatial[layer_at(percent, len(spatial)) - 1]
    field = layer.receptive_field
    size = inspection.view.shape[0]
    whole = field.is_global or field.size >= size
    reach = "receptive field: the whole image" if whole else f"receptive field {field.size} px"
    return FamilyMap("CNN", loaded.spec.title, loaded.weights.trained, inspection.view,
                     feature_norm(inspection.capture.activations[layer.name]),
                     f"feature norm at {layer.name} ({spatial.index(layer) + 1} of {len(spatial)} layers)",
                     reach)


def attention_map(loaded: pretrained.LoadedModel, image: DecodedImage, percent: int, family: str) -> FamilyMap:
    size = loaded.spec.preprocessing.input_size
    viewed = attention_of(loaded, ("image", image.sha256), size, image.rgb)
    capture = viewed.capture
    layer = layer_at(percent, capture.layers)
    distance = float(mean_attention_distance(capture.attentions[layer - 1: layer], capture.grid, capture.patch_size,
                                             capture.prefix_tokens).mean())
    return FamilyMap(family, loaded.spec.title, loaded.weights.trained, viewed.view,
                     capture.patch_attention(layer - 1).mean(dim=0).numpy(),
                     f"CLS attention, block {layer} of {capture.layers}, heads averaged",
                     f"mean attention distance {distance:.0f} px")


def swin_map(loaded: pretrained.LoadedModel, image: DecodedImage, percent: int) -> FamilyMap:
    spec = loaded.spec
    size = spec.preprocessing.input_size
    source = ("image", image.sha256)
    view = input_view(source, spec, size, image.rgb)
    capture = swin_capture(loaded, source, view)
    layout = swin_layout(loaded.model)
    stage = layer_at(percent, len(layout.depths))
    stages = layout.stages(size)
    centre = (stages[0].grid[0] // 2, stages[0].grid[1] // 2)
    reached = swin_reach(stages, layout.depths, centre)[sum(layout.depths[:stage]) - 1]
    window_px = stages[stage - 1].window * stages[stage - 1].pixels_per_token
    return FamilyMap("Swin", spec.title, loaded.weights.trained, view,
                     feature_norm(capture.stage_features[stage - 1]),
                     f"feature norm after stage {stage} of {len(layout.depths)}",
                     f"windows of {window_px} px; the centre token reaches {reached.mean():.0%} of the image")
