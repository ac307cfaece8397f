"""Files that are valid but hostile or odd (issue 13): each one generated here, each checked
against an independent oracle (Pillow's own transposition, libjpeg's scan script, numpy)."""

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, TiffImagePlugin

from app.images import MAX_JPEG_SCANS, MAX_SCAN_MEGAPIXELS, ImageRejected, decode_image
from app.jpeg_scans import count_jpeg_scans
from tests.test_images import PHOTO, encode, exif_jpeg, rgb

NOISE = np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)


def pillow_rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_valid_exif_orientation_turns_the_picture_as_pillow_does(orientation):
    data = exif_jpeg(orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    decoded = decode_image(data, "turned.jpg")
    np.testing.assert_array_equal(decoded.rgb, expected)
    assert decoded.notes[0] == f"Turned upright as its EXIF orientation ({orientation}) asks."


@pytest.mark.parametrize("orientation", [0, 9, 99])
def test_an_invalid_exif_orientation_is_shown_as_stored_and_said_so(orientation):
    data = exif_jpeg(orientation)
    decoded = decode_image(data, "odd.jpg")
    np.testing.assert_array_equal(decoded.rgb, pillow_rgb(data))
    assert decoded.notes[0] == f"EXIF orientation {orientation} is not a valid value (1–8): shown as stored."
    assert not any("upright" in note for note in decoded.notes)


def progressive(image: Image.Image, **options) -> bytes:
    return encode(image, "JPEG", quality=90, progressive=True, **options)


def test_scans_are_counted_by_segments_not_by_bytes():
    # libjpeg's default progression (jcparam.c, jpeg_simple_progression): 10 scans for YCbCr,
    # 2 + 4 = 6 for one component, 1 for a baseline file.
    assert count_jpeg_scans(encode(rgb(), "JPEG")) == 1
    assert count_jpeg_scans(progressive(rgb())) == 10
    assert count_jpeg_scans(progressive(rgb().convert("L"))) == 6
    # Restart markers and stuffed 0xFF bytes inside the scans, and a comment full of bytes that
    # look like start-of-scan markers: a byte search would count 610.
    tricky = progressive(Image.fromarray(NOISE), restart_marker_blocks=1, comment=b"\xff\xda" * 600)
    assert tricky.count(b"\xff\xda") > MAX_JPEG_SCANS and b"\xff\xd0" in tricky
    assert count_jpeg_scans(tricky) == 10
    assert decode_image(tricky, "tricky.jpg").size == (96, 64)
    assert count_jpeg_scans(encode(rgb(), "PNG")) == 0


def many_scans(extra: int, image: Image.Image = Image.fromarray(NOISE)) -> bytes:
    """A real progressive JPEG with its last scan repeated `extra` times before the end marker.
    Pillow writes no segment between the scans, and stuffing keeps 0xFF 0xDA out of the
    entropy-coded data, so the last scan starts at the last 0xFF 0xDA."""
    data = progressive(image)
    last_scan = data[data.rindex(b"\xff\xda"):-2]
    return data[:-2] + last_scan * extra + b"\xff\xd9"


def test_a_jpeg_with_too_many_scans_is_refused_before_decoding(monkeypatch):
    data = many_scans(600)
    assert len(data) < 2**20
    decoded_pixels = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded_pixels.append(image))
    with pytest.raises(ImageRejected, match="many.jpg is a JPEG with 610 scans; the limit is 500"):
        decode_image(data, "many.jpg")
    assert decoded_pixels == []


def test_progressive_jpegs_with_up_to_the_limit_of_scans_decode():
    normal = progressive(rgb())
    np.testing.assert_array_equal(decode_image(normal, "p.jpg").rgb, pillow_rgb(normal))
    at_limit = many_scans(MAX_JPEG_SCANS - 10)
    assert count_jpeg_scans(at_limit) == MAX_JPEG_SCANS
    assert decode_image(at_limit, "limit.jpg").size == (96, 64)


def tiff_pages(count: int, side: int = 16) -> bytes:
    """A little-endian TIFF of `count` black 8-bit pages sharing one strip of pixels (TIFF 6.0:
    header, then per page an IFD of 8 tags and the offset of the next IFD; 0 ends the chain)."""
    strip = 8
    first_ifd = strip + side * side
    ifd_bytes = 2 + 8 * 12 + 4
    tags = [(256, 3, side), (257, 3, side), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, strip), (278, 3, side), (279, 4, side * side)]  # sorted by tag, as TIFF asks
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + bytes(side * side))
    for page in range(count):
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            layout = "<HHII" if kind == 4 else "<HHIHH"  # LONG, or SHORT padded to 4 bytes
            out += struct.pack(layout, tag, kind, 1, value, *([] if kind == 4 else [0]))
        out += struct.pack("<I", first_ifd + (page + 1) * ifd_bytes if page + 1 < count else 0)
    return bytes(out)


def test_a_large_jpeg_may_hold_fewer_scans_than_a_small_one(monkeypatch):
    """Every scan is decoded over the whole picture: 4 MP allows 800 / 4 = 200 scans."""
    flat = Image.new("RGB", (2000, 2000), (120, 130, 140))  # tiny scans, as in the fault's file
    assert decode_image(progressive(flat), "ten.jpg").size == (2000, 2000)
    data = many_scans(240, flat)
    assert len(data) < 200_000 and count_jpeg_scans(data) == 250 <= MAX_JPEG_SCANS
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("decoded"))
    with pytest.raises(ImageRejected, match=f"4.0 megapixels in 250 scans; at this size the limit is "
                                            f"{MAX_SCAN_MEGAPIXELS // 4} scans"):
        decode_image(data, "flat.jpg")


def test_a_tiff_of_thousands_of_pages_is_never_walked(monkeypatch):
    data = tiff_pages(5000)
    assert Image.open(io.BytesIO(data)).n_frames == 5000  # what the decoder must not ask
    touched = []
    seek = TiffImagePlugin.TiffImageFile._seek
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek",
                        lambda image, frame: touched.append(frame) or seek(image, frame))
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames",
                        property(lambda image: pytest.fail("n_frames walks every page")))
    decoded = decode_image(data, "pages.tif")
    assert set(touched) <= {0, 1}
    assert "several frames" in decoded.notes[0] and (decoded.rgb == 0).all()


def test_a_single_page_tiff_has_no_frames_note():
    assert not any("frames" in note for note in decode_image(encode(rgb(), "TIFF"), "one.tif").notes)


def test_nan_and_infinity_in_a_float_tiff_leave_the_rest_scaled_by_the_finite_values():
    values = np.tile(np.linspace(-3, 5, 64, dtype=np.float32), (32, 1)) * np.linspace(1, 2, 32)[:, None]
    values = values.astype(np.float32)
    bad = {(3, 4): np.nan, (10, 20): np.inf, (20, 40): -np.inf}
    for where, value in bad.items():
        values[where] = value
    decoded = decode_image(encode(Image.fromarray(values), "TIFF"), "float.tif")
    finite = np.isfinite(values)
    low, high = values[finite].astype(np.float64).min(), values[finite].astype(np.float64).max()
    expected = np.rint((values.astype(np.float64) - low) * 255 / (high - low))
    gray = decoded.rgb[..., 0].astype(int)
    assert np.abs(gray[finite] - expected[finite]).max() <= 1
    assert gray.min() == 0 and gray.max() == 255
    assert (gray[3, 4], gray[10, 20], gray[20, 40]) == (0, 255, 0)
    assert "3 pixels are NaN or infinite" in " ".join(decoded.notes)
    np.testing.assert_array_equal(decoded.rgb[..., 0], decoded.rgb[..., 2])


def test_a_float_tiff_without_any_finite_value_is_black_not_an_error():
    values = np.full((32, 32), np.nan, np.float32)
    decoded = decode_image(encode(Image.fromarray(values), "TIFF"), "nan.tif")
    assert (decoded.rgb == 0).all() and "1,024 pixels are NaN" in " ".join(decoded.notes)


def test_pictures_over_the_display_size_are_reduced_like_pillow_would():
    """The banded reduction matches Pillow's whole-image resize of the same picture."""
    big = Image.fromarray(np.kron(PHOTO, np.ones((60, 60, 1), np.uint8)))  # 5760×4800
    data = encode(big, "PNG")
    decoded = decode_image(data, "big.png")
    expected = np.asarray(big.resize(decoded.size, Image.Resampling.LANCZOS))
    assert decoded.size == (2048, 1707)
    assert np.abs(decoded.rgb.astype(int) - expected).mean() < 1.0


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_reducing_band_by_band_equals_reducing_the_whole_picture(monkeypatch, mode):
    from app import image_reduction

    monkeypatch.setattr(image_reduction, "_BAND_PIXELS", 97 * 7)  # 6-row bands; the last one 2 rows
    pixels = np.random.default_rng(2).integers(0, 256, (50, 97, 4), dtype=np.uint8)
    picture = Image.fromarray(pixels).convert(mode)
    banded = image_reduction.reduce_in_bands(picture, 3, lambda band: band)
    np.testing.assert_array_equal(np.asarray(banded), np.asarray(picture.reduce(3)))
