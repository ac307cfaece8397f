"""The clip decoder on clips encoded here: the formats a student uploads, and every kind of bad
file the issue names, refused or trimmed with a message, the frames bounded."""

import numpy as np
import pytest

from app.video import decode
from app.video.decode import VideoRejected, decode_clip
from tests.video_clips import encoded_clip, sound_only


def frame_numbers(clip) -> np.ndarray:
    """Each frame's number in the source (below 32), read back from its green level (8 per frame)."""
    return np.rint(clip.frames[:, :, :, 1].mean(axis=(1, 2)) / 8).astype(int)


@pytest.mark.parametrize("codec, container", [("libx264", "mp4"), ("libx264", "mov"), ("libvpx-vp9", "webm"),
                                              ("libvpx-vp9", "matroska")])
def test_a_clip_gives_evenly_spaced_frames_in_order(codec, container):
    clip = decode_clip(encoded_clip(30, codec=codec, container=container), f"walk.{container}")
    assert clip.frames.shape == (16, 48, 64, 3) and clip.size == (64, 48)
    assert clip.fps == pytest.approx(10) and clip.duration == pytest.approx(3.0, abs=0.05)
    numbers = frame_numbers(clip)
    assert numbers[0] == 0 and numbers[-1] == 29 and np.all(np.diff(numbers) >= 1)
    assert np.allclose(clip.times, numbers / 10, atol=1e-6)  # each frame's time is its own
    assert np.diff(numbers).max() - np.diff(numbers).min() <= 1  # as even as 30 frames allow
    assert not clip.notes


def test_an_animated_gif_is_a_clip():
    clip = decode_clip(encoded_clip(12, codec="gif", container="gif"), "spin.gif")
    assert len(clip.frames) == 12 and clip.fps == pytest.approx(10)


def test_a_long_clip_is_trimmed_to_its_first_ten_seconds_and_says_so():
    clip = decode_clip(encoded_clip(130), "long.mp4")  # 13 s at 10 frames/s
    assert clip.duration == pytest.approx(13, abs=0.05) and clip.decoded == pytest.approx(10, abs=0.05)
    assert clip.times.max() < 10
    assert clip.notes == ("the clip lasts 13.0 s; its first 10 s are used",)


def test_a_large_frame_gets_fewer_seconds_for_the_same_decoding_work(monkeypatch):
    """The budget is pixels × frames: here a quarter of what 10 s of these frames need."""
    monkeypatch.setattr(decode, "PIXEL_BUDGET", 10 * 10 * 64 * 48 // 4)
    clip = decode_clip(encoded_clip(50), "big.mp4")
    assert clip.decoded == pytest.approx(2.5, abs=0.05) and frame_numbers(clip).max() <= 24
    assert "its first 2.5 s are used: at 64×48 and 10 frames/s" in clip.notes[0]


def test_the_frames_kept_while_decoding_stay_bounded(monkeypatch):
    """However many frames a file holds, at most twice the candidates are kept: with 4, a clip of
    99 frames gives at most 8, spread over all of it."""
    monkeypatch.setattr(decode, "CANDIDATES", 4)
    clip = decode_clip(encoded_clip(99), "many.mp4")  # 9.9 s at 10 frames/s
    assert 4 <= len(clip.frames) <= 8 and clip.times[0] == 0 and clip.times[-1] >= 9.9 * 3 / 4


@pytest.mark.parametrize("data, words", [
    (b"", "is not a video that can be read"),
    (b"GIF89a but nothing else", "states no frame size: it is damaged, or not a video"),
    (bytes(range(256)) * 64, "is not a video that can be read"),
])
def test_what_is_not_a_video_is_refused(data, words):
    with pytest.raises(VideoRejected, match=words):
        decode_clip(data, "odd.mp4")


def test_a_sound_file_is_refused_as_sound():
    with pytest.raises(VideoRejected, match=r"has no video stream \(it holds only sound\)"):
        decode_clip(sound_only(), "tone.m4a")


def test_a_clip_cut_short_gives_what_came_before_and_says_so():
    whole = encoded_clip(60, codec="libvpx-vp9", container="webm")
    clip = decode_clip(whole[: len(whole) * 6 // 10], "cut.webm")
    assert 0 < clip.decoded < 6 and frame_numbers(clip)[0] == 0
    assert clip.notes and "its frames end at" in clip.notes[0]


def test_a_header_without_frames_is_refused():
    whole = encoded_clip(60, codec="libvpx-vp9", container="webm")
    refusals = set()
    for cut in range(400, 560, 20):  # the header is whole, the first frame not yet
        try:
            decode_clip(whole[:cut], "header.webm")
        except VideoRejected as refused:
            refusals.add(str(refused))
    assert "header.webm holds no frames." in refusals


def test_too_large_too_small_and_too_many_pixels_are_refused_before_decoding(monkeypatch):
    with pytest.raises(VideoRejected, match="26.0 MB; the limit is 25 MB"):
        decode_clip(bytes(26 * 2**20), "huge.mp4")
    with pytest.raises(VideoRejected, match=r"only 8×8; at least 16 on each side"):
        decode_clip(encoded_clip(5, width=8, height=8), "dot.mp4")
    monkeypatch.setattr(decode, "MAX_PIXELS", 64 * 48 - 1)
    with pytest.raises(VideoRejected, match="is 64×48 per frame; the limit is 8K"):
        decode_clip(encoded_clip(5), "wide.mp4")
