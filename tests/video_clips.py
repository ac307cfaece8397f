"""Small clips encoded here, with PyAV, for the decoder's tests: a moving gradient whose frame
number can be read back from its pixels."""

from __future__ import annotations

import io

import av
import numpy as np


def frame_picture(index: int, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 whose mean green level is 8 × index (mod 256): frames can be told apart."""
    picture = np.zeros((height, width, 3), np.uint8)
    picture[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None]
    picture[..., 1] = (8 * index) % 256
    return picture


def encoded_clip(frames: int, width: int = 64, height: int = 48, fps: int = 10, codec: str = "libx264",
                 container: str = "mp4") -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_picture(index, width, height), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def sound_only() -> bytes:
    """One second of a tone in an mp4 (m4a) container: no video stream."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        samples = (np.sin(np.linspace(0, 2 * np.pi * 440, 16000)) * 0.3).astype(np.float32)[None]
        for start in range(0, 16000, 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()
