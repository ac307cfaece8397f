"""Decoding a generated set of normal, odd and broken files, each with its expected outcome."""

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from app.images import MAX_SIDE, ImageRejected, decode_image

RNG = np.random.default_rng(0)
_Y, _X = np.mgrid[0:80, 0:96]
# Smooth like a photo, so lossy formats stay close to it; every pixel distinct enough to check.
PHOTO = np.stack([_X * 2.5, _Y * 3.0, (_X + _Y) * 1.4], axis=-1).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def rgb(array=PHOTO) -> Image.Image:
    return Image.fromarray(array)


def exif_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(rgb(_marked()), "JPEG", quality=95, exif=exif.tobytes())


def _marked() -> np.ndarray:
    """A 40 (w) × 20 (h) picture, red in its top-left quarter, blue elsewhere."""
    array = np.zeros((20, 40, 3), np.uint8)
    array[...] = (0, 0, 255)
    array[:10, :20] = (255, 0, 0)
    return array


def claimed_size_png(width: int, height: int) -> bytes:
    """A small PNG whose header claims width×height: a decompression bomb's calling card."""
    data = bytearray(encode(Image.new("L", (16, 16)), "PNG"))
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), then width and height
    data[ihdr + 8: ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4: ihdr + 21]))
    data[ihdr + 21: ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                  **({"lossless": True} if fmt == "WEBP" else {}))


def rgba_half_transparent() -> bytes:
    array = np.zeros((32, 32, 4), np.uint8)
    array[..., 0] = 200
    array[..., 3] = 128
    return encode(Image.fromarray(array), "PNG")


def palette_with_transparency() -> bytes:
    image = Image.new("P", (32, 32), 1)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.info["transparency"] = 1
    return encode(image, "PNG", transparency=1)


def gray16() -> bytes:
    ramp = np.tile(np.linspace(100, 4095, 64), (32, 1)).astype(np.uint16)
    return encode(Image.fromarray(ramp), "PNG")


def float_tiff() -> bytes:
    return encode(Image.fromarray(np.tile(np.linspace(-1, 1, 64, dtype=np.float32), (32, 1))), "TIFF")


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (32, 32), c) for c in ((9, 9, 9), (200, 200, 200))]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


OK_CASES = {
    # name: (bytes, check(decoded))
    "jpeg": (encode(rgb(), "JPEG", quality=95),
             lambda d: d.size == (96, 80) and d.notes == () and np.abs(d.rgb.astype(int) - PHOTO).mean() < 4),
    "png_exact": (encode(rgb(), "PNG"), lambda d: np.array_equal(d.rgb, PHOTO) and d.notes == ()),
    "bmp_exact": (encode(rgb(), "BMP"), lambda d: np.array_equal(d.rgb, PHOTO)),
    "webp_lossless": (encode(rgb(), "WEBP", lossless=True), lambda d: np.array_equal(d.rgb, PHOTO)),
    "tiff_exact": (encode(rgb(), "TIFF"), lambda d: np.array_equal(d.rgb, PHOTO)),
    "grayscale_L": (encode(rgb().convert("L"), "PNG"),
                    lambda d: np.array_equal(d.rgb[..., 0], d.rgb[..., 2]) and "Grayscale" in d.notes[0]),
    "bilevel_1": (encode(rgb().convert("1"), "PNG"), lambda d: set(np.unique(d.rgb)) <= {0, 255}),
    "palette_gif": (encode(rgb().convert("P"), "GIF"), lambda d: d.rgb.shape == (80, 96, 3)),
    "palette_transparent": (palette_with_transparency(),
                            lambda d: (d.rgb == 255).all() and "white" in d.notes[0]),
    "rgba_blend": (rgba_half_transparent(),
                   lambda d: abs(int(d.rgb[0, 0, 0]) - (200 * 128 + 255 * 127) // 255) <= 1
                   and abs(int(d.rgb[0, 0, 1]) - 127) <= 1),
    "la_gray_alpha": (encode(Image.new("LA", (64, 64), (50, 255)), "PNG"),
                      lambda d: (d.rgb == 50).all() and d.notes == ()),
    "cmyk_jpeg": (encode(rgb().convert("CMYK"), "JPEG", quality=95),
                  lambda d: "CMYK" in d.notes[0] and np.abs(d.rgb.astype(int) - PHOTO).mean() < 4),
    "cmyk_tiff": (encode(rgb().convert("CMYK"), "TIFF"),
                  lambda d: np.abs(d.rgb.astype(int) - PHOTO).max() <= 1),
    "gray_16bit": (gray16(),
                   lambda d: d.rgb[0, 0, 0] == 0 and d.rgb[0, -1, 0] == 255 and "bit depth" in d.notes[0]),
    "float_tiff": (float_tiff(), lambda d: d.rgb[0, 0, 0] == 0 and d.rgb[0, -1, 0] == 255),
    "animated_gif": (animated("GIF"),
                     lambda d: tuple(d.rgb[0, 0]) == (255, 0, 0) and "several frames" in d.notes[0]),
    "animated_webp": (animated("WEBP"),
                      lambda d: tuple(d.rgb[0, 0]) == (255, 0, 0) and "several frames" in d.notes[0]),
    "multipage_tiff": (multipage_tiff(), lambda d: tuple(d.rgb[0, 0]) == (9, 9, 9) 
                       and "several frames" in d.notes[0]),
    # Orientation 6: the camera was turned; shown upright the 40×20 picture is 20×40,
    # and the red top-left corner of the stored pixels ends up top-right.
    "exif_rotate_90": (exif_jpeg(6),
                       lambda d: d.size == (20, 40) and d.rgb[2, -3, 0] > 200 and d.rgb[2, 2, 2] > 200
                       and "EXIF" in d.notes[0]),
    "exif_rotate_180": (exif_jpeg(3),
                        lambda d: d.size == (40, 20) and d.rgb[-3, -3, 0] > 200 and "EXIF" in d.notes[0]),
    "wrong_extension": (encode(rgb(), "JPEG"), lambda d: d.format == "JPEG"),
    "tiny_accepted": (encode(Image.new("RGB", (32, 32)), "PNG"), lambda d: "blurry" in d.notes[0]),
    "wide_accepted": (encode(Image.new("RGB", (500, 100)), "PNG"), lambda d: "middle square" in d.notes[0]),
    "large_downscaled": (encode(Image.new("RGB", (6000, 4000), (10, 200, 30)), "JPEG"),
                         lambda d: max(d.size) <= MAX_SIDE and d.original_size == (6000, 4000)
                         and any("Downscaled" in n for n in d.notes)),
}

REJECTED_CASES = {
    "empty": (b"", "empty"),
    "text": (b"hello, this is not a picture\n" * 20, "not a picture"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not a picture"),
    "random_bytes": (RNG.bytes(5000), "not a picture"),
    "truncated_jpeg": (truncated(encode(rgb(PHOTO.repeat(8, 0).repeat(8, 1)), "JPEG")), "damaged or truncated"),
    "truncated_png": (truncated(encode(rgb(), "PNG")), "damaged or truncated"),
    "bomb_claimed_header": (claimed_size_png(8_000, 8_000), "megapixels"),
    "bomb_beyond_pillow_limit": (claimed_size_png(100_000, 100_000), "too many pixels"),
    "too_small": (encode(Image.new("RGB", (8, 8)), "PNG"), "at least 16"),
    "too_elongated": (encode(Image.new("RGB", (2000, 50)), "PNG"), "more than 20:1"),
    "unsupported_format": (encode(Image.new("RGB", (32, 32)), "PPM"), "PPM file"),
    "too_many_bytes": (b"\x89PNG" + bytes(26 * 2**20), "limit is 25 MB"),
}


@pytest.mark.parametrize("name", OK_CASES)
def test_accepted(name):
    data, check = OK_CASES[name]
    decoded = decode_image(data, name)
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
    assert not decoded.rgb.flags.writeable
    assert check(decoded), (decoded.size, decoded.notes)


@pytest.mark.parametrize("name", REJECTED_CASES)
def test_rejected_with_a_reason(name):
    data, reason = REJECTED_CASES[name]
    with pytest.raises(ImageRejected, match=reason) as error:
        decode_image(data, f"{name}.png")
    assert f"{name}.png" in str(error.value)


def test_a_bomb_is_refused_before_decoding():
    data = claimed_size_png(8_000, 8_000)
    start = time.perf_counter()
    with pytest.raises(ImageRejected):
        decode_image(data)
    assert time.perf_counter() - start < 0.5


def test_the_same_bytes_give_the_same_key_and_other_bytes_another():
    a = decode_image(encode(rgb(), "PNG"))
    b = decode_image(encode(rgb(), "PNG"))
    c = decode_image(encode(rgb(255 - PHOTO), "PNG"))
    assert a.sha256 == b.sha256 != c.sha256
