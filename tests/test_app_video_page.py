"""The video page in AppTest: the default sample, the trained networks' numbers as their cards
say, each network's answer its own on the clip as shown; an upload decoded and kept, a bad one
refused with the previous clip kept."""

import numpy as np
import pytest
import torch

from tests.conftest import app_at, chart_spec
from tests.video_clips import encoded_clip


def test_the_sample_clip_and_the_five_networks():
    from app.video.moving_fashion import CLASSES, clip_input, clip_view
    from app.video.samples import sample_clip
    from app.video.shipped import shipped_motion_model
    from pretrained.motion_models import SHIPPED

    app = app_at("pages/video.py")
    assert not app.exception
    assert app.text[0].value.startswith("Camera pan and zoom over the cat · 320×240 · 8.0 frames/s · 2.0 s")
    times = chart_spec(app, "video_frames")["layout"]["xaxis"]["ticktext"]
    assert times[0] == "0.00 s" and len(times) == 8
    bars = chart_spec(app, "video_accuracies")["data"][0]
    cards = {SHIPPED[k].title: shipped_motion_model(k)[1] for k in SHIPPED}
    assert dict(zip(bars["y"], bars["x"])) == pytest.approx(cards)
    view = clip_view(sample_clip("pan_zoom").frames)
    table = app.dataframe[0].value
    for key, row in zip(SHIPPED, table.itertuples()):
        model, _ = shipped_motion_model(key)
        with torch.no_grad():
            probabilities = model(clip_input(view[None]))[0].softmax(dim=0)
        assert row[4] == CLASSES[int(probabilities.argmax())] and row[5] == pytest.approx(float(probabilities.max()))
    words = " ".join(c.value for c in app.caption)
    assert f"scores {cards[SHIPPED['frame_cnn'].title]:.1%} on the test clips, against 10% by chance" in words
    assert "these networks take it" in app.info[0].value


def test_an_upload_is_decoded_and_a_broken_one_keeps_the_clip():
    app = app_at("pages/video.py")
    app.radio(key="video_source").set_value("Your clip").run()
    app.file_uploader(key="video_upload").upload("walk.mp4", encoded_clip(30), "video/mp4")
    app.run()
    assert not app.exception
    assert app.text[0].value == "walk.mp4 · 64×48 · 10.0 frames/s · 3.0 s"
    app.file_uploader(key="video_upload").upload("tone.mp4", b"not a video at all", "video/mp4")
    app.run()
    assert not app.exception
    assert "is not a video that can be read" in app.error[0].value and "previous clip is still in use" in \
        app.error[0].value
    assert app.text[0].value == "walk.mp4 · 64×48 · 10.0 frames/s · 3.0 s"
    reopened = reopened_app(app)  # a reload: the clip comes back from the workspace
    assert reopened.text[0].value == "walk.mp4 · 64×48 · 10.0 frames/s · 3.0 s"


def reopened_app(app):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    reopened = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    reopened.query_params["w"] = app.session_state["_workspace"]
    reopened.run()
    reopened.switch_page("pages/video.py").run()
    assert not reopened.exception
    return reopened


def test_the_garment_sample_is_a_test_clip_and_is_shown_as_it_is():
    from app.video.samples import sample_clip

    app = app_at("pages/video.py")
    app.radio(key="video_source").set_value("garment").run()
    assert not app.exception and not app.info  # no conversion note: these are the networks' own frames
    clip = sample_clip("garment")
    assert clip.frames.shape == (8, 48, 48, 3) and np.array_equal(clip.frames[..., 0], clip.frames[..., 2])


def test_timesformers_schemes_for_the_query_patch_with_their_costs():
    from app.video.attention_schemes import SCHEMES, attention_pairs
    from tests.conftest import open_tab

    app = open_tab(app_at("pages/video.py"), "video_tab", "TimeSformer's attention")
    assert not app.exception
    assert "Patch (7, 7) of frame 4 is the query" in " ".join(c.value for c in app.caption)
    titles = [a["text"] for a in chart_spec(app, "video_schemes")["layout"]["annotations"]]
    assert titles[:5] == [f"{short} · frame 3" for short in ("S", "ST", "T+S", "L+G", "T+W+H")] and len(titles) == 15
    costs = app.dataframe[0].value
    assert list(costs["Query-key pairs per layer"]) == [attention_pairs(k, 8, 14, 14) for k in SCHEMES]
    assert list(costs["Steps"]) == ["space", "space-time", "time → space", "local → global",
                                    "time → width → height"]
    words = " ".join(c.value for c in app.caption)
    assert f"joint attention scores {(8 * 196) ** 2:,} pairs a layer; divided attention {8 * 196 * 204:,}" in words
    app.slider(key="video_query_frame").set_value(1).run()
    titles = [a["text"] for a in chart_spec(app, "video_schemes")["layout"]["annotations"]]
    assert len(titles) == 10 and titles[0] == "S · frame 1"  # no frame before the first
    words = " ".join(c.value for c in app.caption)
    assert "The divided space-time network this project trained" in " ".join(m.value for m in app.markdown)
    assert "the clicked patch is its patch (3, 3) of frame 1" in words  # patch (7, 7) of 14 → (3, 3) of 6


def _sample():
    from app.video.samples import sample_clip

    return sample_clip("pan_zoom")


def test_two_streams_show_frame_differences_offline_and_slowfast_samples_the_clip():
    from tests.conftest import figure_array, open_tab

    app = open_tab(app_at("pages/video.py"), "video_tab", "Two streams and SlowFast")
    assert not app.exception
    clip = _sample()
    # ITU-R 601 luma with torchvision's weights, truncated: the grey of the difference picture.
    a, b = (np.floor(frame.astype(np.float32) @ np.float32([0.2989, 0.587, 0.114])) for frame in clip.frames[7:9])
    changed = (np.abs(b - a) > 10).mean()
    words = " ".join(c.value for c in app.caption)
    assert f"{changed:.1%} of the pixels change by more than 10 grey levels between frames 8 and 9" in words
    assert "RAFT's weights are not on this server" in words
    traces = chart_spec(app, "video_slowfast")["data"]
    marks = {trace["name"]: figure_array(trace["x"]) for trace in traces if "name" in trace}
    np.testing.assert_allclose(marks["slow"], clip.times[::8])
    np.testing.assert_allclose(marks["fast"], clip.times)
    assert "the slow pathway takes 2 of its 16 frames, 1.00 s apart" in words
    app.select_slider(key="video_alpha").set_value(4).run()
    words = " ".join(c.value for c in app.caption)
    assert "the slow pathway takes 4 of its 16 frames, 0.50 s apart" in words and "α·β² = 0.0625 of" in words


def test_with_raft_weights_the_motion_stream_shows_its_flow(monkeypatch):
    """A stand-in for RAFT's weights on the server (the seeded network): the motion picture is its
    flow, and the caption its speeds."""
    import components.models
    import pretrained
    from app.video.two_stream_input import raft_flow
    from tests.conftest import open_tab

    raft = pretrained.load_model("raft_small")
    here = pretrained.weights_status
    monkeypatch.setattr(pretrained, "weights_status", lambda spec: pretrained.WeightsStatus.OFFLINE_READY
                        if spec.name == "raft_small" else here(spec))
    monkeypatch.setattr(components.models, "loaded_model", lambda name: raft)
    monkeypatch.setattr(components.models, "model_key", lambda loaded: ("stand-in", loaded.spec.name))
    app = open_tab(app_at("pages/video.py"), "video_tab", "Two streams and SlowFast")
    assert not app.exception
    frames = _sample().frames
    speed = np.hypot(*raft_flow(raft.model, frames[7], frames[8]))
    words = " ".join(c.value for c in app.caption)
    assert (f"Between frames 8 and 9, at RAFT's 256×192 px, the median pixel moves {np.median(speed):.1f} px and the "
            f"fastest {speed.max():.1f} px") in words
    assert "RAFT's weights are not on this server" not in words


def _kinetics_app(network="r3d_18"):
    from tests.conftest import open_tab

    app = app_at("pages/video.py")
    app.session_state["video_network"] = network
    return open_tab(app, "video_tab", "Kinetics networks")


def _network_on_sample(name):
    """The page's seeded untrained network and the sample as it takes it (the oracle's input)."""
    import pretrained
    from app.video.network_input import clip_batch, clip_view

    loaded = pretrained.load_model(name)
    view = clip_view(_sample().frames, loaded.spec.preprocessing, 16)
    return loaded.model, clip_batch(view, loaded.spec.preprocessing)


def test_a_kinetics_network_untrained_offline_with_its_maps_across_time():
    app = _kinetics_app()
    assert not app.exception
    assert any("UNTRAINED WEIGHTS" in e.value for e in app.error)
    assert "Actions are hidden" in app.info[0].value
    assert "63.2% top-1 and 83.5% top-5 on Kinetics-400" in " ".join(c.value for c in app.caption)
    from tests.conftest import open_tab

    open_tab(app, "video_kinetics", "Maps across time")
    assert not app.exception
    model, batch = _network_on_sample("r3d_18")
    seen = {}
    model.layer2.register_forward_hook(lambda module, args, output: seen.update(maps=output[0]))
    with torch.inference_mode():
        model(batch)
    strongest = torch.argsort(seen["maps"].mean(dim=(1, 2, 3)), descending=True)[:6].tolist()
    layout = chart_spec(app, "video_time_mosaic")["layout"]
    assert layout["yaxis"]["ticktext"] == [f"ch {c}" for c in strongest]
    assert layout["xaxis"]["ticktext"][:2] == ["frames 1–2", "frames 3–4"] and len(layout["xaxis"]["ticktext"]) == 8
    assert "layer2 has 128 channels over 8 time steps (the clip's 16 frames pooled 2 to a step)" in \
        " ".join(c.value for c in app.caption)


def test_a_units_field_and_grad_cam_over_the_frames():
    from captum.attr import LayerGradCam

    from app.video.space_time_cam import over_frames
    from tests.conftest import figure_array, notebook_reproduces, open_tab

    app = _kinetics_app()
    open_tab(app, "video_kinetics", "Receptive field")
    assert not app.exception
    # layer1 of R3D-18 on 16 frames of 112 px: 16 steps of 56×56, a frame and 2 px apart; a stem of
    # 3×7×7 (stride 1×2×2) and four 3×3×3 convolutions: 3 + 4·2 = 11 frames, 7 + 4·2·2 = 23 px,
    # centred on frame 8.5 and pixel 0.5 + 2·28 for the middle unit (9, 29, 29).
    words = " ".join(c.value for c in app.caption)
    assert "Unit (9, 29, 29) of layer1 reads frames 4–14 (11 of 16) and pixels 45–68 across, 45–68 down" in words
    assert "its field spans 11 frames and 23×23 px" in words
    open_tab(app, "video_kinetics", "Grad-CAM")
    assert not app.exception
    model, batch = _network_on_sample("r3d_18")
    with torch.inference_mode():
        target = int(model(batch).argmax())
    cam = LayerGradCam(model, model.layer4).attribute(batch, target=target, relu_attributions=True)[0, 0].detach()
    shares = over_frames(cam, 16, 112).sum(dim=(1, 2))
    shares = (shares / shares.sum()).numpy()
    bars = chart_spec(app, "video_cam_shares")["data"][0]
    np.testing.assert_allclose(figure_array(bars["y"]), shares, rtol=1e-4, atol=1e-6)
    assert f"Frame {int(np.argmax(shares)) + 1} holds the most ({shares.max():.1%})" in \
        " ".join(c.value for c in app.caption)
    code, _ = notebook_reproduces(app, "space_time_grad_cam", "video_cam")  # a teacher's notebook, the same map
    assert f"space_time_grad_cam(extractor, batch, 'layer4', {target})" in code and "sample_clip('pan_zoom')" in code


def test_an_attention_network_has_maps_but_no_traced_field():
    from tests.conftest import open_tab

    app = _kinetics_app("swin3d_t")
    open_tab(app, "video_kinetics", "Receptive field")
    assert not app.exception
    assert "mixes its patches by attention" in app.info[-1].value
    open_tab(app, "video_kinetics", "Maps across time")
    assert not app.exception
    assert "features.4 has 384 channels over 8 time steps" in " ".join(c.value for c in app.caption)
