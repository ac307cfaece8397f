"""Moving Fashion-MNIST: deterministic, each class the motion it names (measured on the frames),
and a middle frame that says nothing of the class."""

import math

import numpy as np
import pytest

from app.video.moving_fashion import (
    CLASSES,
    DIRECTIONS,
    FRAMES,
    GARMENT,
    STEP,
    clip_input,
    make_clips,
    render,
)


def centroid(frame: np.ndarray) -> np.ndarray:
    """(row, column) of the frame's intensity."""
    rows, cols = np.indices(frame.shape)
    mass = frame.astype(np.float64)
    return np.array([(rows * mass).sum(), (cols * mass).sum()]) / mass.sum()


@pytest.fixture(scope="module")
def garments():
    rng = np.random.default_rng(5)
    images = np.zeros((20, 28, 28), np.uint8)
    for image in images:  # blobs of random size and place, as garments fill their 28×28 differently
        top, left = rng.integers(2, 10, 2)
        image[top: top + rng.integers(10, 18), left: left + rng.integers(8, 18)] = rng.integers(80, 255)
    return images


def test_the_same_seed_gives_the_same_clips(garments):
    first, again = make_clips(garments, 30, 3), make_clips(garments, 30, 3)
    assert np.array_equal(first.clips, again.clips) and np.array_equal(first.labels, again.labels)
    assert not np.array_equal(first.clips, make_clips(garments, 30, 4).clips)


@pytest.mark.parametrize("label", range(len(DIRECTIONS)))
def test_a_moving_garment_moves_its_step_each_frame_in_its_direction(garments, label):
    clips = make_clips(garments, 400, 0)
    heading = math.radians(45 * label)
    expected = STEP * np.array([-math.sin(heading), math.cos(heading)])  # (rows, columns) per frame
    for clip in clips.clips[clips.labels == label][:10]:
        steps = np.diff([centroid(frame) for frame in clip], axis=0)
        assert np.allclose(steps, expected, atol=0.35), (CLASSES[label], steps)


@pytest.mark.parametrize("label, clockwise", [(len(DIRECTIONS), True), (len(DIRECTIONS) + 1, False)])
def test_a_turning_garment_turns_the_way_its_class_says(label, clockwise):
    bar = np.zeros((GARMENT, GARMENT), np.float32)
    bar[9:11, 10:20] = 255  # from the centre to the right
    clip = render(bar, label, (24.0, 24.0), 0.0)
    # Screen angle of the bar's far end from the centre, rows downwards: clockwise on screen is a
    # growing angle measured from the right towards the bottom.
    angles = [math.degrees(math.atan2(centroid(f)[0] - 24, centroid(f)[1] - 24)) for f in clip]
    turns = np.diff(angles)
    assert np.all(turns > 0) if clockwise else np.all(turns < 0)


def test_the_middle_frame_is_placed_alike_for_every_class(garments):
    """Where the garment is half-way through the clip does not depend on the class."""
    clips = make_clips(garments, 2000, 2)
    middles = np.array([(centroid(c[FRAMES // 2 - 1]) + centroid(c[FRAMES // 2])) / 2 for c in clips.clips])
    overall = middles.mean(axis=0)
    for label in range(len(CLASSES)):
        assert np.allclose(middles[clips.labels == label].mean(axis=0), overall, atol=1.5), CLASSES[label]


def test_clips_are_normalised_frame_by_frame_as_fashion_mnist(garments):
    from app.training.fashion_mnist import to_input

    clips = make_clips(garments, 3, 0).clips
    batch = clip_input(clips)
    assert batch.shape == (3, 1, FRAMES, 48, 48)
    assert np.allclose(batch[1, 0, 5].numpy(), to_input(clips[1, 5][None])[0, 0].numpy())
