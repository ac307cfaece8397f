"""The video page's five networks: each one's structure as its paper describes it, and the shipped
ones scoring their cards on the test clips, the 2D network at chance."""

import pytest
import torch

from app.video.motion_models import DividedBlock, SlowFast, TwoStream


def test_the_two_streams_read_the_middle_frame_and_the_differences_and_average():
    torch.manual_seed(0)
    model = TwoStream().eval()
    clips = torch.randn(2, 1, 8, 48, 48)
    seen = {}
    model.motion[0].register_forward_pre_hook(lambda m, inputs: seen.update(motion=inputs[0]))
    model.appearance.features.register_forward_pre_hook(lambda m, inputs: seen.update(frame=inputs[0]))
    with torch.no_grad():
        appearance, motion = model.stream_scores(clips)
        assert torch.allclose(model(clips), (appearance + motion) / 2)
    assert torch.equal(seen["motion"], clips[:, 0, 1:] - clips[:, 0, :-1])
    assert torch.equal(seen["frame"], clips[:, :, 4])


def test_the_slow_pathway_sees_every_alphath_frame_and_the_fast_one_all():
    torch.manual_seed(0)
    model = SlowFast(alpha=4, beta=4).eval()
    clips = torch.randn(2, 1, 8, 48, 48)
    seen = {}
    model.slow_stem.register_forward_pre_hook(lambda m, inputs: seen.update(slow=inputs[0]))
    model.fast_stem.register_forward_pre_hook(lambda m, inputs: seen.update(fast=inputs[0]))
    with torch.no_grad():
        slow, fast = model.pathways(clips)
    assert torch.equal(seen["slow"], clips[:, :, ::4]) and torch.equal(seen["fast"], clips)
    assert slow.shape[2] == 2 and fast.shape[2] == 8  # frames in each pathway
    assert fast.shape[1] * 4 == slow.shape[1]  # β: the fast pathway has 4 times fewer channels


def test_divided_attention_attends_across_time_then_across_space():
    """Time attention: every patch over the frames (T × T weights per patch); space attention:
    every frame's patches (N × N per frame)."""
    torch.manual_seed(0)
    block = DividedBlock(16, 2).eval()
    tokens = torch.randn(2, 8, 36, 16)
    with torch.no_grad():
        out, across_time, across_space = block(tokens, need_weights=True)
    assert out.shape == tokens.shape
    assert across_time.shape == (2 * 36, 2, 8, 8) and across_space.shape == (2 * 8, 2, 36, 36)
    # Only the same patch in other frames reaches a token through time attention: change patch 5 of
    # frame 0 and, after the time step alone, only patch 5's tokens move.
    moved = tokens.clone()
    moved[0, 0, 5] += 1
    with torch.no_grad():
        def time_step(x):
            b, t, n, d = x.shape
            seq = block.time_norm(x.transpose(1, 2).reshape(b * n, t, d))
            return x + block.time(seq, seq, seq, need_weights=False)[0].reshape(b, n, t, d).transpose(1, 2)
        change = (time_step(moved) - time_step(tokens)).abs().sum(dim=-1)[0]  # (T, N)
    assert change[:, 5].min() > 0 and change[:, [n for n in range(36) if n != 5]].max() == 0


@pytest.mark.parametrize("key", ["frame_cnn", "c3d", "two_stream", "slowfast", "divided_st"])
def test_the_shipped_networks_score_their_cards_on_the_test_clips(key):
    from app.video.moving_fashion import clip_input, motion_clips
    from app.video.shipped import shipped_motion_model

    model, card = shipped_motion_model(key)
    test = motion_clips("test")
    with torch.no_grad():
        predicted = torch.cat([model(batch).argmax(dim=1) for batch in clip_input(test.clips).split(250)])
    assert float((predicted == torch.from_numpy(test.labels)).float().mean()) == pytest.approx(card, abs=0.005)


def test_one_frame_is_not_enough_and_the_frames_together_are():
    """The lesson, on the cards: the 2D network near chance, every temporal one far above it."""
    from app.video.shipped import shipped_motion_model

    frame = shipped_motion_model("frame_cnn")[1]
    assert abs(frame - 0.1) < 0.05
    assert all(shipped_motion_model(k)[1] > frame + 0.3 for k in ("c3d", "two_stream", "slowfast", "divided_st"))
