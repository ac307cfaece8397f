"""Turning the bytes of an uploaded clip into a few evenly spaced RGB frames, or a clear refusal.

PyAV (FFmpeg's demuxers and decoders, shipped in its wheel) reads mp4, webm, mov, mkv and
animated GIF alike. Nothing in a file's header is trusted for the work it asks: the frame
count and duration it claims only place the sampling grid, the decoding stops at a budget of
pixels (a 10-minute 4K upload is trimmed to its first seconds, said so), and only a bounded
number of downscaled candidate frames is ever kept.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import av
import numpy as np

MAX_FILE_BYTES = 25 * 2**20  # the same as server.maxUploadSize in .streamlit/config.toml
MAX_SECONDS = 10.0  # longer clips are trimmed to their beginning
# Decoding budget: 10 s of 1080p at 30 frames/s. A 4K clip gets a quarter of the seconds, a
# 120 fps one a quarter: the decoder's work grows with pixels × frames, not with seconds.
PIXEL_BUDGET = 10 * 30 * 1920 * 1080
MAX_PIXELS = 8192 * 4320  # a frame larger than 8K is refused from the header alone
MAX_SIDE = 480  # frames are kept at most this large on their longer side
CANDIDATES = 48  # at least this many frames (at most twice) are kept while decoding, evenly spaced
MIN_SIDE = 16

ACCEPTED_EXTENSIONS = ("mp4", "m4v", "webm", "mov", "mkv", "avi", "gif")


class VideoRejected(ValueError):
    """The file cannot be used; the message says why, in words for the user."""


@dataclass(frozen=True, eq=False)
class Clip:
    frames: np.ndarray  # (T, H, W, 3) uint8, evenly spaced over the part decoded
    times: np.ndarray  # (T,) seconds from the start of each frame
    fps: float  # the source's frame rate (frames decoded / seconds decoded when it declares none)
    size: tuple[int, int]  # the source's (width, height)
    duration: float  # seconds the file says it lasts (or decoded, when it says nothing)
    decoded: float  # seconds decoded: less than `duration` when trimmed or cut short
    name: str
    sha256: str
    notes: tuple[str, ...] = ()  # what was done to the file, in words (trimmed, ended early, …)

    @property
    def sampling(self) -> str:
        """e.g. '16 frames, 0.62 s apart'."""
        step = float(np.diff(self.times).mean()) if len(self.times) > 1 else 0.0
        return f"{len(self.frames)} frames" + (f", {step:.2f} s apart" if step else "")


def _scaled(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _seconds(value, time_base) -> float | None:
    """A stream's duration in seconds, when it states one."""
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def decode_clip(data: bytes, name: str, frames: int = 16) -> Clip:
    """`frames` frames evenly spaced over the clip's first seconds (fewer when the clip has fewer)."""
    if len(data) > MAX_FILE_BYTES:
        raise VideoRejected(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, EOFError, ValueError, UnicodeDecodeError) as error:
        raise VideoRejected(f"{name} is not a video that can be read, or is incomplete "
                            f"({error.__class__.__name__}).") from None
    with container:
        if not container.streams.video:
            audio = " (it holds only sound)" if container.streams.audio else ""
            raise VideoRejected(f"{name} has no video stream{audio}.")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoRejected(f"{name} states no frame size: it is damaged, or not a video.")
        if width * height > MAX_PIXELS:
            raise VideoRejected(f"{name} is {width}×{height} per frame; the limit is 8K ({MAX_PIXELS / 1e6:.0f} MP).")
        if min(width, height) < MIN_SIDE:
            raise VideoRejected(f"{name} is only {width}×{height}; at least {MIN_SIDE} on each side is needed.")
        return _sampled(container, stream, data, name, frames)


def _sampled(container, stream, data: bytes, name: str, frames: int) -> Clip:
    width, height = stream.codec_context.width, stream.codec_context.height
    declared_fps = float(stream.average_rate) if stream.average_rate else None
    claimed = _seconds(stream.duration, stream.time_base) or (
        container.duration / 1e6 if container.duration else None)
    limit = min(MAX_SECONDS, PIXEL_BUDGET / (max(width * height, 1) * (declared_fps or 30.0)))
    stream.thread_type = "AUTO"
    out_w, out_h = _scaled(width, height)
    # Every `stride`-th frame is kept; when 2 × CANDIDATES are kept, every other one is dropped
    # and the stride doubles: evenly spaced frames, however many the file really holds.
    kept: list[tuple[float, np.ndarray]] = []
    stride, count, start, last, notes = 1, 0, None, 0.0, []
    try:
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            start = frame.time if start is None else start
            t = frame.time - start
            if t >= limit:
                break
            if count % stride == 0:
                kept.append((t, frame.to_ndarray(format="rgb24", width=out_w, height=out_h)))
                if len(kept) == 2 * CANDIDATES:
                    kept, stride = kept[::2], stride * 2
            count, last = count + 1, t
    except (av.FFmpegError, OSError, EOFError, ValueError) as error:
        if not kept:
            raise VideoRejected(f"{name} could not be decoded ({error.__class__.__name__}): it may be damaged.") \
                from None
        notes.append(f"the file breaks off after {last:.1f} s (damaged or truncated?); what came before is used")
    if not kept:
        raise VideoRejected(f"{name} holds no frames.")
    fps = declared_fps or (count / last if last > 0 else 0.0)
    decoded = last + (1 / fps if fps else 0.0)
    duration = claimed if claimed else decoded
    if claimed and decoded < min(claimed, limit) - 1.0 and not notes:
        notes.append(f"the file says it lasts {claimed:.1f} s but its frames end at {decoded:.1f} s")
    if claimed and claimed > limit + 1e-6:
        why = "its first 10 s are used" if limit == MAX_SECONDS else (
            f"its first {limit:.1f} s are used: at {width}×{height} and {fps:.0f} frames/s, decoding them costs as "
            "much as 10 s of 1080p at 30")
        notes.append(f"the clip lasts {claimed:.1f} s; {why}")
    kept_times = np.array([t for t, _ in kept])
    targets = np.linspace(0.0, kept_times[-1], min(frames, len(kept)))
    picked = np.unique(np.abs(kept_times[None] - targets[:, None]).argmin(axis=1))  # the nearest to each
    return Clip(frames=np.stack([kept[i][1] for i in picked]), times=np.array([kept[i][0] for i in picked]),
                fps=fps, size=(width, height), duration=duration, decoded=decoded, name=name,
                sha256=hashlib.sha256(data).hexdigest(), notes=tuple(notes))


def describe(clip: Clip) -> str:
    """e.g. 'walk.mp4 · 1920×1080 · 30.0 frames/s · 12.4 s'."""
    return f"{clip.name} · {clip.size[0]}×{clip.size[1]} · {clip.fps:.1f} frames/s · {clip.duration:.1f} s"


def frames_needed_note(clip: Clip, frames: int) -> str | None:
    """Said when a model needs more frames than the clip has: they are repeated in order."""
    if len(clip.frames) >= frames:
        return None
    return (f"The clip gives {len(clip.frames)} frames; the model takes {frames}, so each is shown "
            f"{math.ceil(frames / len(clip.frames))} times or so, in order.")
