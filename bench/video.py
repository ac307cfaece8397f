"""The video page's cost, in one run (issue 18).

    .venv/bin/python -m bench.video

1. Decoding: a 10 s 1080p H.264 clip at 30 frames/s (encoded here, ultrafast preset) to the
   page's 16 frames, against the baseline of PyAV decoding every frame of it and converting
   none: what sampling and converting add to the decoder's own work.
2. Capture: R3D-18 (seeded random weights: the cost does not depend on them) on 16 frames of
   112 px, every listed layer kept and turned into maps plus the logits, against a bare forward
   of the same network; interleaved, median of each.
3. Warm redraws: the video page's script run with the sample clip and its results cached, each
   tab (the Kinetics network's four views with R3D-18), median of 9 AppTest runs (AppTest's own
   overhead included); the largest is reported.

Last line: `video: decode_s=… decode_ratio=… capture_ratio=… warm_ms=…` (goals: decode_s ≤ 2,
capture_ratio ≤ 1.1, warm_ms ≤ 200).
"""

from __future__ import annotations

import io
import statistics
import time

import av
import numpy as np
import torch

from app.video.decode import decode_clip
from bench.page_timing import median_run_ms, settled

TABS = [("Why time matters", None), ("Two streams and SlowFast", None),
        *[("Kinetics networks", view) for view in ("Top-5 actions", "Maps across time", "Receptive field", "Grad-CAM")],
        ("TimeSformer's attention", None)]


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


def warm_redraws(repeats: int = 9) -> dict[str, float]:
    """{tab: median ms of the page's script run with its results cached}."""
    from streamlit.testing.v1 import AppTest

    from components.server_state import SHARED_JOBS
    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/video.py").run()
    medians = {}
    for tab, view in TABS:
        at.session_state["video_tab"] = tab
        if view:
            at.session_state["video_kinetics"] = view
        settled(at, SHARED_JOBS)
        medians[f"{tab} / {view}" if view else tab] = median_run_ms(at, repeats)
    return medians


def capture_ratio(repeats: int = 9) -> float:
    """R3D-18's capture of every listed layer over a bare forward, on the page's clip size."""
    import pretrained
    from app.video.space_time import SpaceTimeExtractor

    spec = pretrained.get_spec("r3d_18")
    model = pretrained.build_model(spec).eval().requires_grad_(False)
    extractor = SpaceTimeExtractor(model, spec.architecture, spec.layers, 16, spec.preprocessing.input_size)
    clip = torch.randn(1, 3, 16, 112, 112)
    ours, bare = [], []
    with torch.inference_mode():
        model(clip), extractor.capture(clip)  # warm-up: first-call allocations
        for _ in range(repeats):
            start = time.perf_counter()
            extractor.capture(clip)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            model(clip)
            bare.append(time.perf_counter() - start)
    return statistics.median(ours) / statistics.median(bare)


def main() -> None:
    redraws = warm_redraws()  # first, in a fresh process
    for tab, ms in redraws.items():
        print(f"video page, warm redraw, {tab}: {ms:.0f} ms (median of 9)")
    warm_ms = max(redraws.values())
    ratio_capture = capture_ratio()
    print(f"R3D-18 on 16 × 112²: every layer kept over a bare forward: {ratio_capture:.2f}")
    data = clip_1080p()
    print(f"a 10 s 1080p clip at 30 frames/s: {len(data) / 2**20:.1f} MB, {bare_decode(data)} frames")
    decode_s, ratio = decoding(data)
    print(f"decoded to 16 frames in {decode_s:.2f} s, {ratio:.2f}× PyAV decoding every frame alone")
    print(f"video: decode_s={decode_s:.2f} decode_ratio={ratio:.2f} capture_ratio={ratio_capture:.2f} "
          f"warm_ms={warm_ms:.0f}")


if __name__ == "__main__":
    main()
