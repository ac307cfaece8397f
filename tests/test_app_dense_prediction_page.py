"""The dense-prediction page in AppTest: a test scene segmented by both shipped U-Nets, the masks
their own argmax, the scores on the scene recomputed; the user's picture converted."""

import pytest
import torch

from tests.conftest import app_at, chart_spec


def test_a_test_scene_with_and_without_skips():
    from app.segmentation.data import fashion_scenes, to_input
    from app.segmentation.metrics import boundary_f_score, confusion, mean_iou
    from app.segmentation.shipped import shipped_unet

    app = app_at("pages/dense_prediction.py")
    app.number_input(key="seg_scene").set_value(7).run()
    assert not app.exception
    spec = chart_spec(app, "seg_masks")
    assert [a["text"] for a in spec["layout"]["annotations"]][:4] == ["input", "true classes", "U-Net",
                                                                      "U-Net, no skips"]
    scenes = fashion_scenes("test")
    table = app.dataframe[0].value
    for row, key in zip(table.itertuples(), ("unet", "unet_noskip")):
        model, card = shipped_unet(key)
        with torch.no_grad():
            mask = model(to_input(scenes.images[7:8]))[0].argmax(dim=0).numpy()  # the model's own argmax
        assert row[2] == pytest.approx(mean_iou(confusion(mask, scenes.masks[7], 11)))
        assert row[3] == pytest.approx(boundary_f_score(mask, scenes.masks[7]))
        assert row[4] == card["miou"]
    words = " ".join(c.value for c in app.caption)
    assert f"to {table.iloc[0, 4]:.1%}" in words  # the card's mIoU of the U-Net with skips
    assert len([c for c in app.get("plotly_chart") if c.key.startswith("seg_decoder_")]) == 2


def test_the_users_picture_is_converted_and_said_so():
    app = app_at("pages/dense_prediction.py")
    app.radio(key="seg_source").set_value("Your image, converted").run()
    assert not app.exception
    assert "64×64 grey" in app.info[0].value
    assert list(app.dataframe[0].value.columns) == ["Network", "mIoU, 1,000 test scenes",
                                                    "Boundary F, 1,000 test scenes"]
    titles = [a["text"] for a in chart_spec(app, "seg_masks")["layout"]["annotations"]]
    assert titles[:3] == ["input", "U-Net", "U-Net, no skips"]  # no true classes for a photo
