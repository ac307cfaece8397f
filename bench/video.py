"""The video page's cost, in one run (issue 18; the Kinetics networks' capture comes with them).

    .venv/bin/python -m bench.video

1. Decoding: a 10 s 1080p H.264 clip at 30 frames/s (encoded here, ultrafast preset) to the
   page's 16 frames, against the baseline of PyAV decoding every frame of it and converting
   none: what sampling and converting add to the decoder's own work.
2. Warm redraws: the video page's script run with the sample clip and its results cached,
   median of 9 AppTest runs (AppTest's own overhead included).

Last line: `video: decode_s=… decode_ratio=… warm_ms=…` (goals: decode_s ≤ 2, warm_ms ≤ 200).
"""

from __future__ import annotations

import io
import statistics
import time

import av
import numpy as np

from app.video.decode import decode_clip
from bench.page_timing import median_run_ms


def clip_1080p(seconds: int = 10, fps: int = 30) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        rows, cols = np.mgrid[0:1080, 0:1920]
        for index in range(seconds * fps):  # a moving pattern, so that frames differ as a camera's do
            picture = np.stack([(cols + 8 * index) % 256, (rows + 4 * index) % 256,
                                ((rows + cols) // 8 + index) % 256], axis=-1).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def bare_decode(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def decoding(data: bytes, repeats: int = 3) -> tuple[float, float]:
    """(median seconds of decode_clip, its ratio to the bare decode), in turns."""
    ours, bare = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_clip(data, "bench.mp4")
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        bare_decode(data)
        bare.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(ours) / statistics.median(bare)


def warm_redraw(repeats: int = 9) -> float:
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/video.py").run()
    at.run()
    return median_run_ms(at, repeats)


def main() -> None:
    warm_ms = warm_redraw()  # first, in a fresh process
    print(f"video page, warm redraw: {warm_ms:.0f} ms (median of 9)")
    data = clip_1080p()
    print(f"a 10 s 1080p clip at 30 frames/s: {len(data) / 2**20:.1f} MB, {bare_decode(data)} frames")
    decode_s, ratio = decoding(data)
    print(f"decoded to 16 frames in {decode_s:.2f} s, {ratio:.2f}× PyAV decoding every frame alone")
    print(f"video: decode_s={decode_s:.2f} decode_ratio={ratio:.2f} warm_ms={warm_ms:.0f}")


if __name__ == "__main__":
    main()
