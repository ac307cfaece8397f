"""Sentences the feature-map page states about the layers on screen, computed from them."""

from __future__ import annotations

from collections.abc import Sequence

from app.cnn.capture import LayerInfo


def mixer_reading(layers: Sequence[LayerInfo]) -> str:
    """How an MLP-Mixer's token maps are read, and where its units come to see the whole image."""
    first = next(info for info in layers if info.is_spatial)
    channels, rows, cols = first.shape
    patch = first.receptive_field.size
    mixed = next((info.name for info in layers if info.is_spatial and info.receptive_field.is_global), None)
    whole = (f" From {mixed} on, after the first token-mixing MLP, every unit sees the whole image."
             if mixed else "")
    return (f"MLP-Mixer has no convolutions after its patches: its {rows * cols} tokens (one per {patch}×{patch} px "
            f"patch) are laid out where their patches lie, so each of the {channels} features reads as a "
            f"{rows}×{cols} map.{whole}")


def stages_reading(layers: Sequence[LayerInfo]) -> str:
    """What a convolutional transformer's (CvT's) stage maps are, and how far their units see."""
    maps = [info for info in layers if info.is_spatial]
    sizes = ", ".join(f"{info.shape[1]}×{info.shape[2]}" for info in maps)
    whole = [info for info in maps if info.receptive_field.is_global]
    reach = ("every unit of every stage sees the whole image (its gradient reaches all four borders): attention "
             "inside each stage is global" if len(whole) == len(maps)
             else f"{len(whole)} of the {len(maps)} stages' units see the whole image")
    return (f"CvT makes its tokens with convolutions and keeps them as maps between its {len(maps)} stages "
            f"({sizes}); {reach}.")
