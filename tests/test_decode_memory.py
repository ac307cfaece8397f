"""Peak memory of decoding small files that unpack to 40 megapixels (issue 13, fault 5.3), each
measured in a fresh process by tests/memory_probe.py. Before the fix, files like these peaked
at 1.42 GB (16-bit gray PNG), 958 MB (16-bit RGBA PNG) and 799 MB (RLE BMP)."""

import json
import struct
import subprocess
import sys
import zlib

import pytest

from app.images import MAX_PIXELS, MAX_SIDE
from tests.conftest import ROOT

WIDTH, HEIGHT = 8000, 5000  # exactly MAX_PIXELS: the largest picture the decoder accepts
MiB = 2**20


def png(bit_depth: int, color_type: int, row: callable) -> bytes:
    """A PNG (ISO/IEC 15948) whose scanlines `row(y)` are compressed row by row, so the full
    picture never exists in this process."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor, idat = zlib.compressobj(9), []
    for y in range(HEIGHT):
        idat.append(compressor.compress(b"\x00" + row(y)))  # filter type 0 (None) per scanline
    idat.append(compressor.flush())
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, bit_depth, color_type, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def gray16_png() -> bytes:
    ramps = [struct.pack(f">{WIDTH}H", *((x * 8 + shift) % 65536 for x in range(WIDTH)))
             for shift in range(16)]
    return png(16, 0, lambda y: ramps[(y // 300) % 16])  # equal neighbours: deflate finds them


def rgba16_png() -> bytes:
    pixel = [struct.pack(">4H", 60000, 30000, 1000 * k, 65535 - 4000 * k) for k in range(16)]
    rows = [b"".join(pixel[(x // 500 + k) % 16] for x in range(WIDTH)) for k in range(16)]
    return png(16, 6, lambda y: rows[(y // 300) % 16])


def rle8_bmp() -> bytes:
    """A BMP with 8-bit run-length encoding (BI_RLE8): every row is 32 runs of 250 pixels."""
    rows = b"".join(b"".join(bytes((250, (y + run) % 256)) for run in range(32)) + b"\x00\x00"
                    for y in range(HEIGHT)) + b"\x00\x01"
    palette = b"".join(bytes((i, 255 - i, (3 * i) % 256, 0)) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, WIDTH, HEIGHT, 1, 8, 1, len(rows), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + info + palette + rows


# Bytes per pixel that Pillow needs to decode the picture: its storage (1 for P, 2 for I;16, 4 for
# RGBA, whatever the file's bit depth), twice for RLE BMP, whose decoder (in Python) gathers
# all rows in a buffer of its own before copying them into the picture.
FILES = {"gray16.png": (gray16_png, 2), "rgba16.png": (rgba16_png, 4),
         "rle8.bmp": (rle8_bmp, 2 * 1)}


@pytest.mark.parametrize("name", FILES)
def test_peak_memory_of_a_40_megapixel_decode_is_bounded(name, tmp_path):
    """The bound: the decoded picture in its stored mode, once (Pillow must hold it to decode
    it: W×H×bytes per pixel), plus 96 MiB for everything else: a band (4 MiB), the picture
    averaged down (side < 2·MAX_SIDE: under 64 MiB in a 4-byte mode, 18 MiB here), the display
    copy (MAX_SIDE side, 4 bytes per pixel: 10 MiB here), its RGB array (7.5 MiB) and the
    decoders' buffers. Widening to float64 at full size (320 MB per copy) or converting the full
    picture to RGBA (160 MB per copy) breaks it. Measured on the 2-core VM: 131, 218 and 118 MB
    (bounds 172, 249 and 172); before the fix 1452, 918 and 841 MB."""
    make, bytes_per_pixel = FILES[name]
    path = tmp_path / name
    path.write_bytes(make())
    assert WIDTH * HEIGHT == MAX_PIXELS and path.stat().st_size < 2 * MiB
    result = subprocess.run([sys.executable, "-m", "tests.memory_probe", "decode", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.splitlines()[-1])
    assert measured["size"] == [MAX_SIDE, MAX_SIDE * HEIGHT // WIDTH]
    bound_mb = (WIDTH * HEIGHT * bytes_per_pixel + 96 * MiB) / MiB
    assert measured["peak_rise_mb"] <= bound_mb, (measured, bound_mb)
