"""Counting the scans of a JPEG from its marker segments, before any decoding.

A progressive JPEG may hold thousands of scans and libjpeg decodes each one over the whole
image (coefficients for every block, every scan), so a small file can cost minutes of CPU;
libjpeg-turbo's own tools refuse more than 500 scans (djpeg -maxscan). The count walks the
segment structure (ITU-T T.81, annex B): marker, length, payload; after a scan header the
entropy-coded data runs to the next real marker.
"""

from __future__ import annotations

import re

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_TEM = 0x01
_RESTARTS = range(0xD0, 0xD8)
# Inside entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed data byte), by
# 0xD0-0xD7 (a restart marker, part of the scan) or by 0xFF (fill); anything else ends the scan.
_END_OF_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def count_jpeg_scans(data: bytes) -> int:
    """The number of start-of-scan segments of the first image in `data` (0 if it is not a
    JPEG). A malformed structure stops the count where it breaks; the decoder judges the rest."""
    if data[:2] != b"\xff\xd8":
        return 0
    position, scans = 2, 0
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == _EOI:
            break
        if marker == _TEM or marker in _RESTARTS or marker == _SOI:  # markers without a length
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2: position + 4], "big")
        if marker == _SOS:
            scans += 1
            end = _END_OF_SCAN.search(data, position)
            if end is None:
                break
            position = end.start()
    return scans
