"""The dense-prediction page in AppTest: a test scene segmented by both shipped U-Nets, the masks
their own argmax, the scores on the scene recomputed; the user's picture converted."""

import numpy as np
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


def test_a_voc_network_on_the_picture_untrained_offline_with_its_banner():
    import pretrained
    from app.images import decode_image
    from app.preprocess import preprocess
    from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
    from app.segmentation.voc import pixel_classes
    from tests.conftest import open_tab

    app = app_at("pages/dense_prediction.py")
    app.session_state["voc_model"] = "lraspp_mobilenet_v3_large"
    open_tab(app, "seg_tab", "Pascal VOC networks")
    assert not app.exception
    assert any("UNTRAINED WEIGHTS" in e.value for e in app.error)
    loaded = pretrained.load_model("lraspp_mobilenet_v3_large")  # seeded: the page's untrained weights
    rgb = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb
    found = pixel_classes(loaded.model, preprocess(rgb, loaded.spec.preprocessing))  # the model's own argmax
    words = " ".join(c.value for c in app.caption)
    assert f"{float((found.confidence < 0.5).mean()):.1%} of its pixels" in words
    assert f"the {len(np.unique(found.mask))} colours are classes of nothing" in words and not app.dataframe
    titles = [a["text"] for a in chart_spec(app, "voc_maps")["layout"]["annotations"]]
    assert titles[:4] == ["classes over the picture", "confidence (0 to 1)", "entropy (0 to ln 21)",
                          "class boundaries"]
    assert found.mask.shape[0] == 520 or found.mask.shape[1] == 520  # the shorter side, nothing cropped
    grids = [a["text"] for a in chart_spec(app, "voc_grids")["layout"]["annotations"]]
    cells = [tuple(int(n) for n in title.split("→ ")[1].split(" ")[0].split("×")) for title in grids]
    assert [title.split(" px")[0] for title in grids] == ["224", "320", "520"] and cells == sorted(cells)
    assert "one cell for every 8×8 input pixels" in words


def test_class_shares_are_the_pixel_counts():
    from app.segmentation.voc import PixelClasses

    mask = np.random.default_rng(0).integers(0, 4, (9, 7)).astype(np.uint8)
    mask[mask == 2] = 3  # class 2 absent
    names = ("background", "a", "b", "c")
    found = PixelClasses(mask, np.ones(mask.shape, np.float32), np.zeros(mask.shape, np.float32))
    counted = {n: sum(int(v) == i for v in mask.ravel()) / mask.size for i, n in enumerate(names)}
    assert found.shares(names) == sorted(((n, share) for n, share in counted.items() if share), key=lambda p: -p[1])


def test_with_trained_weights_the_classes_are_named_with_their_shares(monkeypatch):
    """A stand-in for downloaded weights (the seeded network, marked trained): the legend and the
    table name the classes, with the shares of the model's own argmax."""
    import dataclasses

    import components.models
    import pretrained
    from app.images import decode_image
    from app.preprocess import preprocess
    from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
    from app.segmentation.voc import pixel_classes
    from pretrained.loading import WeightsInfo
    from tests.conftest import open_tab

    stand_in = pretrained.load_model("lraspp_mobilenet_v3_large")
    stand_in = dataclasses.replace(stand_in, weights=WeightsInfo(trained=True, problem=None))
    real = components.models.loaded_model
    monkeypatch.setattr(components.models, "loaded_model",
                        lambda name: stand_in if name == "lraspp_mobilenet_v3_large" else real(name))
    monkeypatch.setattr(components.models, "model_key", lambda loaded: ("stand-in", loaded.spec.name))
    app = app_at("pages/dense_prediction.py")
    app.session_state["voc_model"] = "lraspp_mobilenet_v3_large"
    open_tab(app, "seg_tab", "Pascal VOC networks")
    assert not app.exception and not any("UNTRAINED WEIGHTS" in e.value for e in app.error)
    rgb = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb
    found = pixel_classes(stand_in.model, preprocess(rgb, stand_in.spec.preprocessing))
    expected = found.shares(pretrained.class_names(stand_in.spec))
    shares = app.dataframe[0].value
    assert list(shares["Class"]) == [c for c, _ in expected]
    assert list(shares["Share of the picture"]) == pytest.approx([share for _, share in expected])
    legend = chart_spec(app, "voc_maps")["layout"]["annotations"][-1]["text"]
    assert all(name in legend for name, _ in expected)


@pytest.mark.parametrize("name", ["fcn_resnet50", "deeplabv3_resnet50"])
def test_the_score_grid_grows_with_the_input_as_the_strides_say(name):
    """No fixed input size: the head's grid follows the input through every stride-2 layer of the
    backbone's main path (conv1, max-pool, layer2; layer3 and layer4 are dilated instead)."""
    import pretrained
    from app.segmentation.voc import class_scores

    model = pretrained.build_model(pretrained.get_spec(name)).eval()
    backbone = dict(model.backbone.named_modules())
    strided = [backbone[n] for n in ("conv1", "maxpool", "layer2.0.conv2")]
    assert all(m.stride in (2, (2, 2)) for m in strided)
    for height, width in ((64, 64), (72, 100), (97, 131)):
        expected = []
        for side in (height, width):
            for module in strided:
                k, s, p = (v if isinstance(v, int) else v[0] for v in (module.kernel_size, module.stride,
                                                                        module.padding))
                side = (side + 2 * p - k) // s + 1
            expected.append(side)
        scores = class_scores(model, torch.zeros(1, 3, height, width))
        assert scores.shape == (21, *expected)
