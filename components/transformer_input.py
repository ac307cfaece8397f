"""What a transformer looks at: the current image at a chosen size, or, for the
tiny Fashion-MNIST model, a test image of its own dataset."""

from __future__ import annotations

import numpy as np
import streamlit as st

import pretrained
from app.images import DecodedImage
from app.training.fashion_mnist import FASHION_MNIST_CLASSES, DatasetMissing, load_fashion_mnist
from components.vit_capture import within_budget

DINO_SIZES = (224, 320, 480, 640)
_FMNIST_INDEX = "fmnist_index"


def choose_input(loaded: pretrained.LoadedModel, image: DecodedImage,
                 interactive: bool = True) -> tuple[tuple, int, np.ndarray | None]:
    """Returns (source key, input size, RGB array or None); draws its widgets when interactive."""
    spec = loaded.spec
    if spec.labels == "fashion-mnist":
        return _fashion_mnist_input(spec, image, interactive)
    size = spec.preprocessing.input_size
    if interactive:
        patch = loaded.model.patch_embed.patch_size[0]
        # DINO's sizes, to whole patches: DINOv2's 14 px patches make 322 of 320.
        sizes = tuple(round(s / patch) * patch for s in DINO_SIZES) if spec.family == "dino" else (size,)
        if len(sizes) > 1:
            size = st.select_slider("Input size (px)", sizes, value=size, key=f"size_{spec.name}",
                                    help="DINO's position embeddings are resampled for larger inputs.")
        if spec.family in ("vit", "dino"):  # global attention: memory grows with tokens²
            fits, cost = within_budget(loaded, size)
            st.caption(cost)
            if not fits:
                allowed = max(s for s in sizes if within_budget(loaded, s)[0])
                st.warning(f"{size}² needs more attention memory than one capture may hold; "
                           f"showing {allowed}² instead.")
                size = allowed
        st.caption(f"The model sees the centre square of the picture (shorter side resized, then cropped to "
                   f"{size}×{size}); every overlay is drawn on that square.")
    return ("image", image.sha256), size, image.rgb


def _fashion_mnist_input(spec, image, interactive):
    size = spec.preprocessing.input_size
    try:
        labels = load_fashion_mnist("test")[1]
    except DatasetMissing as missing:
        if interactive:
            st.warning(f"{missing} Showing your image, converted, instead.")
        return ("image", image.sha256), size, image.rgb
    if interactive:
        use_dataset = st.radio("Input", ["Fashion-MNIST test image", "Your image, converted"], horizontal=True,
                               key="tiny_input") == "Fashion-MNIST test image"
        if not use_dataset:
            st.info(f"Your picture shrunk to {size}×{size} grey: this model only knows Fashion-MNIST clothes on "
                    "black, so its answers say more about the model than about your picture.")
            return ("image", image.sha256), size, image.rgb
        st.session_state.setdefault(_FMNIST_INDEX, 0)
        index = st.number_input("Test image", 0, len(labels) - 1, key=_FMNIST_INDEX,
                                help="One of the 10,000 Fashion-MNIST test images the model never trained on.")
        st.caption(f"Test image {index}: **{FASHION_MNIST_CLASSES[labels[index]]}**")
    return ("fashion-mnist", int(st.session_state.get(_FMNIST_INDEX, 0))), size, None
