"""The dense-prediction page in AppTest: a test scene segmented by both shipped U-Nets, the masks
their own argmax, the scores on the scene recomputed; the user's picture converted."""

import numpy as np
import pytest
import torch

from tests.conftest import app_at, chart_spec, figure_array, open_tab


def test_a_test_scene_with_and_without_skips():
    from app.segmentation.data import fashion_scenes
    from app.segmentation.metrics import boundary_f_score, confusion, mean_iou
    from app.segmentation.shipped import shipped_unet
    from app.training.fashion_mnist import to_input

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
    open_tab(app, "voc_view", "Any input size")
    assert not app.exception
    words = " ".join(c.value for c in app.caption)
    grids = [a["text"] for a in chart_spec(app, "voc_grids")["layout"]["annotations"]]
    cells = [tuple(int(n) for n in title.split("→ ")[1].split(" ")[0].split("×")) for title in grids]
    assert [title.split(" px")[0] for title in grids] == ["224", "320", "520"] and cells == sorted(cells)
    assert "one cell for every 8×8 input pixels" in words
    from app.preprocess import at_input_size
    from app.segmentation.voc import class_scores

    app.selectbox(key="voc_grid_class").set_value(15).run()
    words = " ".join(c.value for c in app.caption)
    maps = [class_scores(loaded.model, preprocess(rgb, at_input_size(loaded.spec.preprocessing, size)))[15]
            for size in (224, 320, 520)]
    low, high = min(float(m.min()) for m in maps), max(float(m.max()) for m in maps)
    assert f'The score map of "class 15" that the head computes at each size, on one colour scale from {low:.2f} ' \
           f"to {high:.2f}" in words
    titles = [a["text"] for a in chart_spec(app, "voc_grid_scores")["layout"]["annotations"]]
    assert titles == [f"{size} px: {m.shape[0]}×{m.shape[1]}" for size, m in zip((224, 320, 520), maps)]


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
    import components.weights_download
    import pretrained
    from app.images import decode_image
    from app.preprocess import preprocess
    from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
    from app.segmentation.voc import pixel_classes
    from pretrained.loading import WeightsInfo

    stand_in = pretrained.load_model("lraspp_mobilenet_v3_large")
    stand_in = dataclasses.replace(stand_in, weights=WeightsInfo(trained=True, problem=None))
    real = components.models.loaded_model
    monkeypatch.setattr(components.weights_download, "loaded_model",  # where the page's network is loaded
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


def scene_app(index: int = 7):
    app = app_at("pages/dense_prediction.py")
    app.number_input(key="seg_scene").set_value(index).run()
    assert not app.exception
    return app


def test_a_decoder_level_shows_the_two_tensors_it_concatenates():
    """The page's channel counts against the network's own: the input its convolutions receive."""
    from app.segmentation.data import fashion_scenes
    from app.segmentation.shipped import shipped_unet
    from app.training.fashion_mnist import to_input

    app = scene_app()
    open_tab(app, "seg_view", "Level by level")
    app.select_slider(key="seg_level").set_value("decoder 1").run()
    assert not app.exception
    model, _ = shipped_unet("unet")
    seen = {}
    model.up[-1].conv.register_forward_pre_hook(lambda m, inputs: seen.update(shape=inputs[0].shape))
    with torch.no_grad():
        model(to_input(fashion_scenes("test").images[7:8]))
    channels, height, width = seen["shape"][1:]
    titles = [chart_spec(app, f"seg_level_{n}")["layout"]["title"]["text"] for n in ("skip", "upsampled", "output")]
    assert titles == [f"skip from encoder 1: 16×{height}×{width}", f"upsampled from below: 16×{height}×{width}",
                      f"decoder 1's output: 16×{height}×{width}"]
    assert f"{channels} channels enter its two 3×3 convolutions" in " ".join(c.value for c in app.caption)
    app.radio(key="seg_inside_model").set_value("unet_noskip").run()
    assert "This network drops encoder 1's 16 maps" in " ".join(c.value for c in app.caption)
    app.select_slider(key="seg_level").set_value("bottleneck").run()
    assert chart_spec(app, "seg_level_maps")["layout"]["title"]["text"] == "bottleneck: 128×8×8"


def test_transposed_and_bilinear_upsampling_with_their_cards():
    from app.segmentation.shipped import shipped_unet

    app = open_tab(scene_app(), "seg_view", "Upsampling")
    assert not app.exception
    words = " ".join(c.value for c in app.caption)
    transposed, bilinear = shipped_unet("unet")[1], shipped_unet("unet_bilinear")[1]
    assert "reads 1 input position" in words and "Bilinear interpolation reads 4" in words
    assert (f"transposed {transposed['miou']:.1%} mIoU and {transposed['boundary_f']:.1%} boundary F; bilinear "
            f"{bilinear['miou']:.1%} and {bilinear['boundary_f']:.1%}") in words
    if bilinear["miou"] > transposed["miou"] and bilinear["boundary_f"] > transposed["boundary_f"]:
        assert "so bilinear upsampling does better on both scores" in words
    assert {"seg_upsampled_unet", "seg_upsampled_unet_bilinear"} <= {c.key for c in app.get("plotly_chart")}


def test_seg_grad_cam_of_the_region_is_the_networks_own():
    """The box starts around the class's pixels; the sliders move it; the map shown is the
    explanation computed here from the shipped network, at the chosen layer."""
    from app.segmentation.data import fashion_scenes
    from app.segmentation.scenes import CLASSES
    from app.segmentation.seg_grad_cam import Region, unet_seg_grad_cam
    from app.segmentation.shipped import shipped_unet
    from app.training.fashion_mnist import to_input

    app = open_tab(app_at("pages/dense_prediction.py"), "seg_view", "Seg-Grad-CAM")  # test scene 0
    assert not app.exception
    model, _ = shipped_unet("unet")
    picture = fashion_scenes("test").images[0]
    batch = to_input(picture[None])
    with torch.no_grad():
        mask = model(batch)[0].argmax(dim=0).numpy()
    counts = np.bincount(mask.ravel(), minlength=11)
    cls = int(np.argmax(counts[1:]) + 1)
    assert app.selectbox(key="seg_cam_class").value == cls
    rows, cols = np.nonzero(mask == cls)
    region = Region(rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)

    def shown():
        return figure_array(chart_spec(app, "seg_cam_map")["data"][1]["z"])

    expected = unet_seg_grad_cam(model, batch, "bottleneck", cls, region).numpy()
    assert shown().shape == (8, 8) and np.allclose(shown(), expected, atol=1e-5)
    app.slider(key="seg_cam_rows").set_value((0, 12)).run()
    app.select_slider(key="seg_cam_level").set_value("decoder 2").run()
    assert not app.exception
    region = Region(0, cols.min(), 12, cols.max() + 1)
    expected = unet_seg_grad_cam(model, batch, "decoder 2", cls, region)
    assert np.allclose(shown(), expected.numpy(), atol=1e-5)
    rectangle = chart_spec(app, "seg_cam_chart")["layout"]["shapes"][0]
    assert (rectangle["y0"], rectangle["y1"]) == (0, 12)
    words = " ".join(c.value for c in app.caption)
    if expected.sum() > 0:
        upsampled = torch.nn.functional.interpolate(expected[None, None], size=(64, 64), mode="bilinear")[0, 0]
        inside = float(upsampled[:12, region.left:region.right].sum() / upsampled.sum())
        assert f'"{CLASSES[cls]}"' in words and f"{inside:.0%} of the support lies inside the box" in words
    else:
        assert "no map adds positive evidence" in words


def test_a_voc_networks_seg_grad_cam_on_the_picture():
    import pretrained
    from app.images import decode_image
    from app.preprocess import model_view, normalize
    from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
    from app.segmentation.seg_grad_cam import Region
    from app.segmentation.voc import voc_seg_grad_cam

    app = app_at("pages/dense_prediction.py")
    app.session_state["voc_model"] = "lraspp_mobilenet_v3_large"
    open_tab(app, "seg_tab", "Pascal VOC networks")
    open_tab(app, "voc_view", "Seg-Grad-CAM")
    app.slider(key="voc_cam_rows").set_value((100, 300)).run()
    app.slider(key="voc_cam_cols").set_value((50, 400)).run()
    assert not app.exception
    loaded = pretrained.load_model("lraspp_mobilenet_v3_large")
    rgb = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb
    batch = normalize(model_view(rgb, loaded.spec.preprocessing), loaded.spec.preprocessing)
    cls = app.selectbox(key="voc_cam_class").value
    expected = voc_seg_grad_cam(loaded.model, batch, cls, Region(100, 50, 300, 400))
    assert np.allclose(figure_array(chart_spec(app, "voc_cam_map")["data"][1]["z"]), expected.numpy(), atol=1e-5)
    assert app.selectbox(key="voc_cam_class").options[0].startswith("class 0")  # names hidden: untrained


def test_a_panorama_is_capped_and_said_so(monkeypatch):
    """A 20:1 picture (the widest an upload may be): at 520 px on its shorter side it would be
    10,400 px long; the view keeps the longer side at 1,040 px, the mask follows the view, the
    caption says why."""
    import io

    from PIL import Image

    import components.image_picker
    from app.images import decode_image

    buffer = io.BytesIO()
    Image.new("RGB", (2000, 100), (200, 120, 40)).save(buffer, format="PNG")
    strip = decode_image(buffer.getvalue(), "strip.png")
    monkeypatch.setattr(components.image_picker, "current_image", lambda: strip)
    app = app_at("pages/dense_prediction.py")
    app.session_state["voc_model"] = "lraspp_mobilenet_v3_large"
    open_tab(app, "seg_tab", "Pascal VOC networks")
    assert not app.exception
    words = " ".join(c.value for c in app.caption)
    assert "at 1040×52 px (more than 2:1, so its longer side is capped at 1040 px" in words
    assert chart_spec(app, "voc_maps")["layout"]["xaxis"]["range"] == [0, 1040]


@pytest.mark.parametrize("size, view", [((517, 333), (520, 807)), ((2000, 100), (52, 1040)), ((60, 40), (520, 780))])
def test_the_voc_view_keeps_the_aspect_within_the_cap(size, view):
    import pretrained
    from app.preprocess import model_view

    spec = pretrained.get_spec("fcn_resnet50").preprocessing
    assert model_view(np.zeros((size[1], size[0], 3), np.uint8), spec).shape[:2] == view
