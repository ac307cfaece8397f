"""SlowFast's sampling: the frames picked against what the project's SlowFast network feeds its
pathways, the relative cost against multiply-adds counted on two real 3D convolutions (by hand
and by torch's flop counter), and the timeline figure's marks at the sampled times."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from app.video.motion_models import SlowFast
from app.video.shipped import shipped_motion_model
from app.video.slowfast_sampling import channel_width, relative_cost, sampling, timeline_figure


def pathway_inputs(model, clips):
    seen = {}
    hooks = [model.slow_stem.register_forward_pre_hook(lambda module, inputs: seen.update(slow=inputs[0])),
             model.fast_stem.register_forward_pre_hook(lambda module, inputs: seen.update(fast=inputs[0]))]
    try:
        with torch.inference_mode():
            model(clips)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@pytest.mark.parametrize("frames, alpha", [(8, 4), (8, 3), (16, 8), (9, 2)])
def test_the_picked_frames_are_what_an_untrained_slowfast_feeds_its_pathways(frames, alpha):
    torch.manual_seed(0)
    model = SlowFast(alpha=alpha).eval()
    clips = torch.randn(1, 1, frames, 48, 48)
    picked = sampling(np.linspace(0, 1, frames), alpha)
    seen = pathway_inputs(model, clips)
    assert torch.equal(seen["slow"], clips[:, :, torch.from_numpy(picked.slow)])
    assert torch.equal(seen["fast"], clips[:, :, torch.from_numpy(picked.fast)])
    assert len(picked.slow) == -(-frames // alpha)  # every α-th frame, the first included


def test_the_picked_frames_are_what_the_shipped_slowfast_feeds_its_pathways():
    model, _ = shipped_motion_model("slowfast")
    clips = torch.randn(1, 1, 8, 48, 48, generator=torch.Generator().manual_seed(1))
    picked = sampling(np.arange(8) / 25, model.alpha)
    seen = pathway_inputs(model, clips)
    assert torch.equal(seen["slow"], clips[:, :, torch.from_numpy(picked.slow)])
    assert torch.equal(seen["fast"], clips)


def multiply_adds(conv, inputs):
    """Output elements × kernel volume × input channels (per group), from the layer's real output."""
    with torch.inference_mode():
        out = conv(inputs)
    return out.numel() * np.prod(conv.kernel_size) * conv.in_channels // conv.groups


@pytest.mark.parametrize("alpha, beta", [(8, 1 / 8), (4, 1 / 4), (2, 1 / 2), (4, 1 / 8)])
def test_relative_cost_counts_the_multiply_adds_of_two_real_convolutions(alpha, beta):
    channels, frames = 32, 16
    slow = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
    fast = nn.Conv3d(round(beta * channels), round(beta * channels), 3, padding=1, bias=False)
    slow_input = torch.zeros(1, channels, frames // alpha, 8, 8)
    fast_input = torch.zeros(1, round(beta * channels), frames, 8, 8)
    counted = multiply_adds(fast, fast_input) / multiply_adds(slow, slow_input)
    assert relative_cost(alpha, beta) == pytest.approx(counted)
    flops = []
    for conv, inputs in ((slow, slow_input), (fast, fast_input)):
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            conv(inputs)
        flops.append(counter.get_total_flops())
    assert relative_cost(alpha, beta) == pytest.approx(flops[1] / flops[0])


def test_the_timeline_marks_each_pathway_at_the_times_of_its_frames():
    times = np.arange(16) * 0.4 + 0.1
    figure = timeline_figure(times, alpha=8, beta=1 / 8)
    marks = {trace.name: trace for trace in figure.data}
    assert np.allclose(marks["fast"].x, times)
    assert np.allclose(marks["slow"].x, times[[0, 8]])
    assert marks["slow"].marker.size > marks["fast"].marker.size
    labels = [annotation.text for annotation in figure.layout.annotations]
    assert any("Slow:" in text and "2 frames, C channels" in text for text in labels)
    assert any("Fast:" in text and "16 frames, βC = C/8 channels" in text for text in labels)
    assert not figure.layout.images
    sizes = [figure.layout.font.size, figure.layout.xaxis.tickfont.size,
             *(annotation.font.size for annotation in figure.layout.annotations)]
    assert min(sizes) >= 15


def test_the_timeline_shows_a_thumbnail_over_every_frame():
    times = np.linspace(0, 2, 6)
    frames = np.random.default_rng(0).integers(0, 256, (6, 90, 160, 3), dtype=np.uint8)
    figure = timeline_figure(times, alpha=4, beta=1 / 4, frames=frames)
    assert np.allclose([image.x for image in figure.layout.images], times)
    assert all(image.source.startswith("data:image/png;base64,") for image in figure.layout.images)
    assert np.allclose(next(t for t in figure.data if t.name == "slow").x, times[[0, 4]])


@pytest.mark.parametrize("beta, words", [(1 / 8, "C/8"), (0.25, "C/4"), (1.0, "C"), (0.3, "0.3C")])
def test_channel_width_in_words(beta, words):
    assert channel_width(beta) == words
