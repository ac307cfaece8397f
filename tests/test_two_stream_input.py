"""The motion stream's input: the frame differences against the shipped TwoStream network's own
motion input and a per-pixel loop, RAFT's flow against the model called by hand, and the pictures
of no motion uniform."""

import numpy as np
import pytest
import torch
from torchvision.models.optical_flow import raft_small

from app.video.moving_fashion import clip_input, clip_view
from app.video.shipped import shipped_motion_model
from app.video.two_stream_input import (
    RAFT_MIN_SIDE,
    RAFT_SIDE,
    frame_differences,
    motion_picture,
    raft_flow,
    raft_size,
)
from pretrained.zoo import FASHION_MNIST_PREPROCESSING


def random_clip(frames=8, height=48, width=48, seed=0):
    clip = np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    clip[0, 0, 0] = 255  # white: luma 254.97, truncated to 254
    clip[1, 0, 0] = (100, 100, 100)  # equal channels: luma just under 100
    return clip


def test_the_differences_are_what_the_shipped_two_stream_network_feeds_its_motion_stream():
    clip = random_clip()  # 48×48: the network's view of it is its grey, with no resizing
    model, _ = shipped_motion_model("two_stream")
    seen = {}
    hook = model.motion[0].register_forward_pre_hook(lambda module, inputs: seen.update(motion=inputs[0]))
    try:
        with torch.inference_mode():
            model(clip_input(clip_view(clip)[None]))
    finally:
        hook.remove()
    assert seen["motion"].shape == (1, 7, 48, 48)
    assert np.array_equal(frame_differences(clip), seen["motion"][0].numpy())


def test_the_differences_are_the_luma_of_each_pixel_subtracted_one_by_one():
    clip = random_clip(frames=3, height=10, width=12, seed=1)
    weights = [np.float32(w) for w in (0.2989, 0.587, 0.114)]  # ITU-R 601 as torchvision rounds it, in float32

    def luma(pixel):
        return int(weights[0] * np.float32(pixel[0]) + weights[1] * np.float32(pixel[1])
                   + weights[2] * np.float32(pixel[2]))  # truncated to a grey level

    expected = np.zeros((2, 10, 12))
    for t in range(2):
        for row in range(10):
            for col in range(12):
                expected[t, row, col] = luma(clip[t + 1, row, col]) - luma(clip[t, row, col])
    levels = frame_differences(clip) * 255 * FASHION_MNIST_PREPROCESSING.std[0]
    assert levels.dtype == np.float32 and levels.shape == (2, 10, 12)
    assert np.allclose(levels, expected, atol=1e-4)
    assert (luma(clip[0, 0, 0]), luma(clip[1, 0, 0])) == (254, 99)  # truncated, not rounded, pixels compared above


@pytest.mark.parametrize("height, width", [(1080, 1920), (480, 360), (48, 48), (16, 480), (128, 136)])
def test_raft_gets_at_most_256_px_in_multiples_of_8_and_never_less_than_its_pyramid_needs(height, width):
    size = raft_size(height, width)
    assert all(side % 8 == 0 and RAFT_MIN_SIDE <= side <= RAFT_SIDE for side in size)
    longer = min(RAFT_SIDE, max(height, width))  # shrunk to 256, never enlarged
    if min(height, width) * longer / max(height, width) >= RAFT_MIN_SIDE:  # no side stretched to the minimum
        assert max(size) == round(longer / 8) * 8
        assert size[0] / size[1] == pytest.approx(height / width, rel=0.05)
    else:
        assert min(size) == RAFT_MIN_SIDE


def test_raft_flow_is_the_models_last_refinement_on_frames_scaled_to_minus_one_one():
    torch.manual_seed(0)
    model = raft_small(weights=None).eval()
    rng = np.random.default_rng(2)
    first, second = rng.integers(0, 256, (2, 128, 136, 3), dtype=np.uint8)  # already a size RAFT takes as it is
    flow = raft_flow(model, first, second, iterations=2)
    assert flow.shape == (2, 128, 136) and flow.dtype == np.float32

    def scaled(frame):
        return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255 * 2 - 1

    with torch.inference_mode():
        refinements = model(scaled(first), scaled(second), num_flow_updates=2)
    assert len(refinements) == 2
    assert np.allclose(flow, refinements[-1][0].numpy(), atol=1e-5)
    assert not np.allclose(flow, refinements[0][0].numpy(), atol=1e-5)  # the last refinement, not the first


def test_raft_flow_resizes_a_large_frame():
    torch.manual_seed(0)
    model = raft_small(weights=None).eval()
    frames = np.zeros((2, 300, 200, 3), np.uint8)
    assert raft_flow(model, frames[0], frames[1], iterations=1).shape == (2, *raft_size(300, 200)) == (2, 256, 168)


def test_no_motion_is_a_uniform_picture_and_signs_take_opposite_ends():
    still = motion_picture(np.zeros((2, 20, 30), np.float32))
    assert still.shape == (20, 30, 3) and still.dtype == np.uint8 and (still == still[0, 0]).all()
    unchanged = motion_picture(np.zeros((20, 30), np.float32))
    assert unchanged.shape == (20, 30, 3) and (unchanged == unchanged[0, 0]).all()
    signed = np.zeros((20, 30), np.float32)
    signed[0, 0], signed[0, 1] = 2.0, -2.0
    picture = motion_picture(signed)
    assert (picture[0, 2] == unchanged[0, 0]).all()  # 0 sits in the middle of the scale
    assert picture[0, 0, 0] > picture[0, 0, 2] and picture[0, 1, 2] > picture[0, 1, 0]  # red up, blue down
    # A shared bound: a difference of 1 in ±4 is paler than the same difference in ±1.
    assert np.abs(motion_picture(signed / 2, bound=4.0)[0, 0].astype(int) - unchanged[0, 0]).sum() < \
        np.abs(motion_picture(signed / 2, bound=1.0)[0, 0].astype(int) - unchanged[0, 0]).sum()
