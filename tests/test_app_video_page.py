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
