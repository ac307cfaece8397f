"""Turning the bytes of any uploaded picture into one safe RGB array, or a clear refusal."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.image_reduction import finite_range, reduce_in_bands, stretched, working_mode
from app.jpeg_scans import count_jpeg_scans

MAX_FILE_BYTES = 25 * 2**20  # the same as server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 40_000_000  # refused from the header alone, before any decoding
MAX_SIDE = 2048  # larger pictures are downscaled for display and compute
MIN_SIDE = 16
SMALL_SIDE = 64
MAX_ASPECT = 20.0
WIDE_ASPECT = 4.0
MAX_JPEG_SCANS = 500  # libjpeg-turbo's djpeg -maxscan default
# libjpeg reads every scan over the whole picture: 500 scans of a 40 MP picture took 143 s here
# (0.007 s per scan and megapixel), a normal 10-scan one 3 s. This bounds scans × megapixels.
MAX_SCAN_MEGAPIXELS = 800  # 20 scans at 40 MP, 66 at 12 MP, the 500 cap below 1.6 MP

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"}
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_EXIF_ORIENTATION = 0x0112
# EXIF orientation (TIFF tag 274) 2-8: how the stored pixels are turned or mirrored; 1 is upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(ValueError):
    """The file cannot be used; the message says why, in words for the user."""


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """The picture every page works on."""

    rgb: np.ndarray  # (H, W, 3) uint8, read-only
    sha256: str  # of the file's bytes: the key for per-image caches
    name: str
    format: str
    original_size: tuple[int, int]  # (width, height) as stored, before rotation and downscaling
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of `rgb`."""
        return self.rgb.shape[1], self.rgb.shape[0]


def decode_image(data: bytes, name: str = "image") -> DecodedImage:
    """Decodes, orients and converts `data` to RGB, or raises ImageRejected.

    EXIF orientation is applied; palette, alpha, grayscale, CMYK and 16-bit
    images become RGB; animations and multi-page files give their first frame;
    decompression bombs and JPEGs with too many scans are refused from their
    headers before any pixel is decoded; pictures larger than MAX_SIDE are
    downscaled before any conversion, so memory stays near the decoded size.
    Every change is listed in `notes`.
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
    if image.format in ("JPEG", "MPO"):
        _check_scans(data, name, width * height / 1e6)
    notes = []
    # Pillow reads this from the header (TIFF: the next-page offset; GIF: one seek without
    # decoding); n_frames would walk every page, quadratic in a 40,000-page TIFF.
    if getattr(image, "is_animated", False):
        notes.append("First of several frames (an animation or a multi-page file): only it is used.")
    # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 24 MP photo never needs full memory.
    image.draft("RGB", (MAX_SIDE, MAX_SIDE))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"{name} is damaged or truncated and cannot be decoded ({exc}).") from exc
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation in _UPRIGHT:
        notes.append(f"Turned upright as its EXIF orientation ({orientation}) asks.")
    elif orientation != 1:
        notes.append(f"EXIF orientation {orientation} is not a valid value (1–8): shown as stored.")
    shown_size = (height, width) if _UPRIGHT.get(orientation) in _SWAPS_AXES else (width, height)
    target = _display_size(shown_size)
    small, mode_note = _reduced(image, max(1, max(image.size) // MAX_SIDE))
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS)
    rgb, alpha_note = _to_rgb(small)
    notes.extend(note for note in (mode_note, alpha_note) if note)
    if target != shown_size:
        notes.append(f"Downscaled from {shown_size[0]}×{shown_size[1]} to {target[0]}×{target[1]}.")
    if min(target) < SMALL_SIDE:
        notes.append(f"Only {target[0]}×{target[1]} pixels: models will see it enlarged and blurry.")
    if max(target) / min(target) > WIDE_ASPECT:
        notes.append("Very elongated: the models' centre crop keeps only the middle square.")
    array = np.array(rgb, dtype=np.uint8)
    array.setflags(write=False)
    return DecodedImage(
        rgb=array,
        sha256=hashlib.sha256(data).hexdigest(),
        name=name,
        format=image.format or "unknown",
        original_size=(width, height),
        notes=tuple(notes),
    )


_SWAPS_AXES = (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90,
               Image.Transpose.ROTATE_270)


def _display_size(size: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit MAX_SIDE, keeping its aspect ratio."""
    scale = min(1.0, MAX_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _check_scans(data: bytes, name: str, megapixels: float) -> None:
    scans = count_jpeg_scans(data)
    if scans > MAX_JPEG_SCANS:
        raise ImageRejected(
            f"{name} is a JPEG with {scans:,} scans; the limit is {MAX_JPEG_SCANS} (a normal "
            "progressive JPEG has about 10). Decoding it would keep the server busy for minutes."
        )
    if scans * megapixels > MAX_SCAN_MEGAPIXELS:
        allowed = int(MAX_SCAN_MEGAPIXELS / megapixels)
        raise ImageRejected(
            f"{name} is a JPEG of {megapixels:.1f} megapixels in {scans:,} scans; at this size the "
            f"limit is {allowed} scans (a normal progressive JPEG has about 10), since every scan "
            "is decoded over the whole picture. Please save it as a baseline JPEG or smaller."
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


_GRAYSCALE_NOTE = "Grayscale: copied to all three channels."
_MODE_NOTES = {"1": _GRAYSCALE_NOTE, "L": _GRAYSCALE_NOTE, "CMYK": "CMYK converted to RGB."}
_SHOWN_AS_IS = ("RGB", "RGBA", "LA", "La", "RGBa", "PA", "P")  # alpha gets its own note


def _reduced(image: Image.Image, factor: int) -> tuple[Image.Image, str | None]:
    """The decoded picture averaged down by `factor` in its working mode (see
    app.image_reduction), and a note when high bit depth had to be stretched."""
    mode = working_mode(image.mode)
    if mode == "F":
        low, high, nonfinite = finite_range(image)
        note = f"High bit depth ({image.mode}): values stretched to 0–255 for display."
        if nonfinite:
            note += (f" {nonfinite:,} pixels are NaN or infinite: shown as the nearest finite extreme "
                     "(NaN as the lowest), and the scale is set by the finite values.")
        return reduce_in_bands(image, factor, stretched(low, high)), note
    note = _MODE_NOTES.get(image.mode)
    if note is None and image.mode not in _SHOWN_AS_IS:
        note = f"{image.mode} converted to RGB."
    if factor == 1 and image.mode == mode:
        return image, note
    return reduce_in_bands(image, factor, lambda band: band.convert(mode)), note


def _to_rgb(image: Image.Image) -> tuple[Image.Image, str | None]:
    """The small working picture in RGB, and a note when transparency was flattened."""
    if image.mode == "F":
        gray = np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1)), None
    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(white, image).convert("RGB")
        return flattened, "Transparent areas shown on white." if image.getextrema()[3][0] < 255 else None
    return image.convert("RGB"), None
