"""Turning the bytes of any uploaded picture into one safe RGB array, or a clear refusal."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 25 * 2**20  # the same as server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 40_000_000  # refused from the header alone, before any decoding
MAX_SIDE = 2048  # larger pictures are downscaled for display and compute
MIN_SIDE = 16
SMALL_SIDE = 64
MAX_ASPECT = 20.0
WIDE_ASPECT = 4.0

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"}
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_EXIF_ORIENTATION = 0x0112


class ImageRejected(ValueError):
    """The file cannot be used; the message says why, in words for the user."""


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """The picture every page works on."""

    rgb: np.ndarray  # (H, W, 3) uint8, read-only
    data: bytes  # the file as uploaded
    sha256: str  # of `data`: the key for per-image caches
    name: str
    format: str
    original_size: tuple[int, int]  # (width, height) as stored, before rotation and downscaling
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of `rgb`."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self.rgb)


def decode_image(data: bytes, name: str = "image") -> DecodedImage:
    """Decodes, orients and converts `data` to RGB, or raises ImageRejected.

    EXIF orientation is applied; palette, alpha, grayscale, CMYK and 16-bit
    images become RGB; animations give their first frame; decompression bombs
    are refused from the header before any pixel is decoded; pictures larger
    than MAX_SIDE are downscaled. Every change is listed in `notes`.
    """
    if not data:
        raise ImageRejected(f"{name} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise ImageRejected(
            f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB."
        )
    image = _open_header(data, name)
    width, height = image.size
    _check_geometry(name, width, height)
    notes = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        notes.append(f"{frames} frames: the first one is used.")
    # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 24 MP photo never needs full memory.
    image.draft("RGB", (MAX_SIDE, MAX_SIDE))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"{name} is damaged or truncated and cannot be decoded ({exc}).") from exc
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        notes.append("Rotated upright as its EXIF orientation asks.")
    oriented = ImageOps.exif_transpose(image)
    rgb, mode_note = _to_rgb(oriented)
    if mode_note:
        notes.append(mode_note)
    if max(rgb.size) > MAX_SIDE:
        before = rgb.size
        rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        notes.append(f"Downscaled from {before[0]}×{before[1]} to {rgb.size[0]}×{rgb.size[1]}.")
    if min(rgb.size) < SMALL_SIDE:
        notes.append(f"Only {rgb.size[0]}×{rgb.size[1]} pixels: models will see it enlarged and blurry.")
    if max(rgb.size) / min(rgb.size) > WIDE_ASPECT:
        notes.append("Very elongated: the models' centre crop keeps only the middle square.")
    array = np.array(rgb, dtype=np.uint8)
    array.setflags(write=False)
    return DecodedImage(
        rgb=array,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        name=name,
        format=image.format or "unknown",
        original_size=(width, height),
        notes=tuple(notes),
    )


def _open_header(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"{name} claims too many pixels to decode safely ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        kinds = ", ".join(ACCEPTED_EXTENSIONS)
        raise ImageRejected(f"{name} is not a picture that can be read (accepted: {kinds}).") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            f"{name} is a {image.format} file; accepted are JPEG, PNG, WebP, BMP, GIF and TIFF."
        )
    return image


def _check_geometry(name: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            f"{name} is {width}×{height} = {width * height / 1e6:.0f} megapixels; "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP. Please resize it first."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            f"{name} is only {width}×{height} pixels; at least {MIN_SIDE} on each side is needed."
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageRejected(
            f"{name} is {width}×{height}, more than {MAX_ASPECT:.0f}:1; the models' square "
            "crop would show almost nothing of it."
        )


def _to_rgb(image: Image.Image) -> tuple[Image.Image, str | None]:
    """Returns the picture in RGB and a note when the conversion changed what one sees."""
    mode = image.mode
    if mode == "RGB":
        return image, None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _stretch_to_8bit(image), f"High bit depth ({mode}): values stretched to 0–255 for display."
    if mode == "P":
        # A palette may carry transparency: go through RGBA so it is composited.
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(white, rgba).convert("RGB")
        return flattened, "Transparent areas shown on white." if rgba.getextrema()[3][0] < 255 else None
    if mode in ("1", "L"):
        return image.convert("RGB"), "Grayscale: copied to all three channels."
    if mode == "CMYK":
        return image.convert("RGB"), "CMYK converted to RGB."
    return image.convert("RGB"), f"{mode} converted to RGB."


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = np.zeros_like(values) if high <= low else (values - low) * (255.0 / (high - low))
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray] * 3, axis=-1))
