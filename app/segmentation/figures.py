"""Masks as pictures: one colour per class (the background light grey, so garments stand out on a
projector), a mask over its image, and the legend of the classes shown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.figures.colormaps import apply_colormap
from app.figures.palette import PALETTE
from app.figures.plot_images import EncodedPicture, encoded
from app.segmentation.metrics import boundaries
from app.segmentation.voc import PixelClasses

BACKGROUND = "#e6e6e6"
CLASS_COLOURS = (BACKGROUND, *PALETTE, "#79706e")  # the background, then ten garments


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i: i + 2], 16) for i in (1, 3, 5))


def mask_picture(mask: np.ndarray, colours: tuple[str, ...] = CLASS_COLOURS) -> np.ndarray:
    """(H, W) class indices → (H, W, 3) uint8."""
    table = np.array([_rgb(c) for c in colours], np.uint8)
    return table[mask]


def grey_picture(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 → (H, W, 3) uint8."""
    return np.repeat(image[..., None], 3, axis=-1)


def add_legend(figure, classes: tuple[str, ...], present: np.ndarray, colours: tuple[str, ...] = CLASS_COLOURS,
               font_size: int = 15, per_line: int | None = None) -> None:
    """The classes in `present` as coloured squares and names, under the pictures, `per_line` to a
    line (all on one by default) (explicit font colours: Streamlit's theme recolours colorscales,
    not these)."""
    items = [f"<span style='color:{colours[c]}'>■</span> {classes[c]}" for c in np.unique(present)]
    per_line = per_line or len(items)
    lines = ["   ".join(items[start: start + per_line]) for start in range(0, len(items), per_line)]
    figure.add_annotation(text="<br>".join(lines), x=0.5, y=0, xref="paper", yref="paper", xanchor="center",
                          yanchor="top", yshift=-6, showarrow=False, font=dict(size=font_size))
    figure.update_layout(margin=dict(b=16 + round(1.6 * font_size) * len(lines)))


def voc_colours(count: int) -> tuple[str, ...]:
    """The background light grey, then plotly's 26-colour Alphabet for the classes."""
    from plotly.colors import qualitative

    return (BACKGROUND, *qualitative.Alphabet[: count - 1])


def blended(view: np.ndarray, mask: np.ndarray, colours: tuple[str, ...], opacity: float = 0.55) -> np.ndarray:
    """The picture with every pixel of a class (not the background) tinted by its colour."""
    tint = mask_picture(mask, colours).astype(np.float32)
    alpha = np.where(mask[..., None] > 0, opacity, 0.0)
    return np.rint(view * (1 - alpha) + tint * alpha).astype(np.uint8)


def outlined(view: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The picture with the class boundaries in white."""
    out = view.copy()
    out[edges] = 255
    return out


@dataclass(frozen=True, eq=False)
class ClassPictures:
    """A network's classes on a picture, drawn and encoded once: `view` is the picture as the
    network saw it, `panels` the four pictures by title (classes, confidence, entropy, boundaries)."""

    view: EncodedPicture
    panels: dict[str, EncodedPicture]

    @property
    def classes(self) -> EncodedPicture:
        return next(iter(self.panels.values()))


def class_pictures(view: np.ndarray, found: PixelClasses, colours: tuple[str, ...]) -> ClassPictures:
    count = len(colours)
    return ClassPictures(encoded(view), {
        "classes over the picture": encoded(blended(view, found.mask, colours)),
        "confidence (0 to 1)": encoded(apply_colormap(found.confidence, "Viridis")),
        f"entropy (0 to ln {count})": encoded(apply_colormap(found.entropy / float(np.log(count)), "Magma")),
        "class boundaries": encoded(outlined(view, boundaries(found.mask))),
    })
