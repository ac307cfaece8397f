"""Hook-free capture against independent oracles: forward hooks, torchvision's own
feature extractor, published receptive fields and a brute-force gradient."""

import threading

import numpy as np
import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

import pretrained
from app.cnn.capture import FeatureExtractor, capture_activations
from app.cnn.layer_stats import channel_order, layer_stats
from app.cnn.receptive_field import measured_receptive_fields
from app.figures.colormaps import apply_colormap
from app.figures.mosaic import channel_mosaic
from tests.positive_weights import all_positive

CNNS = pretrained.list_specs("cnn")


def extractor_for(spec, model=None):
    model = model if model is not None else pretrained.build_model(spec).eval()
    return FeatureExtractor(model, spec.layers, spec.framework, spec.preprocessing.input_size)


def frozen(name: str):
    """(spec, seeded random model, its extractor)."""
    torch.manual_seed(0)
    spec = pretrained.get_spec(name)
    model = pretrained.build_model(spec).eval().requires_grad_(False)
    return spec, model, extractor_for(spec, model)


@pytest.fixture(scope="module")
def resnet50():
    return frozen("resnet50")


def test_capture_equals_torchvision_feature_extractor_and_forward_hooks(resnet50):
    spec, model, extractor = resnet50
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    captured = capture_activations(extractor, batch)
    reference = create_feature_extractor(model, {layer: layer for layer in spec.layers})
    with torch.inference_mode():
        expected = reference(batch)
    hooked = {}
    handles = [model.get_submodule(layer).register_forward_hook(
        lambda module, args, output, name=layer: hooked.__setitem__(name, output.clone()))
        for layer in spec.layers]
    try:
        with torch.inference_mode():
            logits = model(batch)
    finally:
        for handle in handles:
            handle.remove()
    for layer in spec.layers:
        torch.testing.assert_close(captured.activations[layer], expected[layer][0].reshape(captured.activations[layer].shape))
        torch.testing.assert_close(captured.activations[layer], hooked[layer][0].reshape(captured.activations[layer].shape))
    torch.testing.assert_close(captured.logits, logits[0])


@pytest.mark.parametrize("spec", CNNS, ids=lambda s: s.name)
def test_every_cnn_captures_every_listed_layer(spec):
    extractor = extractor_for(spec)
    captured = capture_activations(extractor, torch.randn(1, 3, 224, 224))
    assert list(captured.activations) == list(spec.layers)
    for info in extractor.layers:
        assert tuple(captured.activations[info.name].shape) == info.shape
    assert captured.logits.shape == (1000,)
    spatial = [info.shape[1] for info in extractor.layers if info.is_spatial]
    assert spatial == sorted(spatial, reverse=True), "resolution must not grow with depth"
    assert not extractor.layers[-1].is_spatial or spec.name == "alexnet"


@pytest.mark.parametrize("model, layer, size", [
    # Araujo, Norris & Sim, "Computing Receptive Fields of CNNs", Distill 2019, Table 1:
    # AlexNet 195 and VGG-16 212 at their last pooling layer.
    ("alexnet", "features.12", 195), ("vgg16", "features.30", 212),
    ("vgg16", "features.29", 196), ("alexnet", "features.11", 163),
])
def test_receptive_fields_match_the_literature(model, layer, size):
    info = extractor_for(pretrained.get_spec(model)).layer(layer)
    assert info.receptive_field.size == size


@pytest.mark.parametrize("model_name, layers, pixel", [
    ("resnet50", ["relu", "maxpool", "layer1.0", "layer2.0", "layer3.0"], 1.0),
    # Small inputs keep MobileNet's ReLU6 below saturation (zero gradient above 6).
    ("mobilenet_v2", ["features.3", "features.7"], 0.01),
    # GoogLeNet's input transform shifts values down: ones stay positive.
    ("googlenet", ["conv3", "inception3a", "maxpool3"], 1.0),
])
def test_receptive_fields_equal_a_brute_force_gradient(model_name, layers, pixel):
    spec = pretrained.get_spec(model_name)
    model = all_positive(pretrained.build_model(spec))
    extractor = FeatureExtractor(model, layers, spec.framework, 224, with_logits=False)
    for layer in layers:
        image = torch.full((1, 3, 320, 320), pixel, requires_grad=True)
        output = extractor.outputs(image)[layer]
        row, col = output.shape[2] // 2, output.shape[3] // 2
        output[0, :, row, col].sum().backward()  # all channels: concat branches differ
        seen = image.grad[0].abs().sum(dim=0) > 0  # (320, 320)
        columns = torch.nonzero(seen.any(dim=0)).flatten()
        rows = torch.nonzero(seen.any(dim=1)).flatten()
        field = extractor.layer(layer).receptive_field
        assert len(columns) == len(rows) == field.size, layer
        x0, y0, x1, y1 = field.box(row, col)
        assert (x0, y0, x1, y1) == (columns[0], rows[0], columns[-1] + 1, rows[-1] + 1), layer


def test_global_layers_see_the_whole_image():
    extractor = extractor_for(pretrained.get_spec("convnext_tiny"))
    assert extractor.layer("avgpool").receptive_field.is_global
    # ConvNeXt's per-position linear layers must not make a stage global.
    assert extractor.layer("features.1").receptive_field.size == 4 + 3 * 6 * 4


@pytest.fixture(scope="module")
def mixer():
    return frozen("mixer_b16")


def test_mixer_tokens_are_read_as_timm_lays_them_on_the_patch_grid(mixer):
    spec, model, extractor = mixer
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    captured = capture_activations(extractor, batch)
    with torch.inference_mode():
        logits, (first, third, last) = model.forward_intermediates(batch, indices=[0, 2, 11])
        pooled = model.forward_head(logits, pre_logits=True)
        logits = model.forward_head(logits)
    assert [extractor.layer(name).shape for name in spec.layers[:-1]] == [(768, 14, 14)] * 8
    torch.testing.assert_close(captured.activations["stem.proj"], model.stem.proj(batch)[0])
    for name, expected in (("blocks.0.add_1", first), ("blocks.2.add_1", third), ("blocks.11.add_1", last)):
        torch.testing.assert_close(captured.activations[name], expected[0])
    torch.testing.assert_close(captured.activations["mean"], pooled[0])
    torch.testing.assert_close(captured.logits, logits[0])


def test_mixer_units_see_one_patch_until_the_tokens_are_mixed(mixer):
    spec, model, _ = mixer
    layers = ["stem.proj", "blocks.0.add"]
    extractor = FeatureExtractor(model, layers, spec.framework, 224, with_logits=False)
    assert extractor.layer("stem.proj").receptive_field.size == 16
    assert extractor.layer("blocks.0.add").receptive_field.is_global
    for layer, rows_seen in (("stem.proj", range(5 * 16, 6 * 16)), ("blocks.0.add", range(224))):
        image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
        output = extractor.outputs(image)[layer]  # (1, 768, 14, 14) or the (1, 196, 768) tokens
        unit = output[0, :, 5, 7] if output.dim() == 4 else output[0, 5 * 14 + 7]
        unit.sum().backward()
        seen = image.grad[0].abs().sum(dim=0) > 0
        assert torch.nonzero(seen.any(dim=1)).flatten().tolist() == list(rows_seen), layer
        if layer == "stem.proj":
            assert torch.nonzero(seen.any(dim=0)).flatten().tolist() == list(range(7 * 16, 8 * 16))


def test_cvt_stages_are_transformers_own_hidden_states_and_every_stage_sees_the_whole_image():
    spec = pretrained.get_spec("cvt_13")
    model = pretrained.build_model(spec).eval().requires_grad_(False)
    extractor = extractor_for(spec, model)
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    captured = capture_activations(extractor, batch)
    with torch.inference_mode():
        expected = model(pixel_values=batch, output_hidden_states=True)
    for i, state in enumerate(expected.hidden_states):
        torch.testing.assert_close(captured.activations[f"cvt.encoder.stages.{i}"], state[0])
    torch.testing.assert_close(captured.logits, expected.logits[0])
    assert [info.shape for info in extractor.layers] == [(64, 56, 56), (192, 28, 28), (384, 14, 14), (384,)]
    assert all(info.receptive_field.is_global for info in extractor.layers)  # attention in every stage


def test_measured_receptive_fields_equal_the_arithmetic_on_a_cnn():
    spec = pretrained.get_spec("resnet50")
    model = all_positive(pretrained.build_model(spec))
    layers = ["relu", "maxpool", "layer1.0", "layer2.0"]
    extractor = FeatureExtractor(model, layers, spec.framework, 320, with_logits=False)
    measured = measured_receptive_fields(extractor.outputs, torch.zeros(1, 3, 320, 320), layers)
    assert measured == {info.name: info.receptive_field for info in extractor.layers}


def test_eight_threads_on_one_shared_model_agree_with_one_at_a_time(resnet50):
    from app.attribution.methods import grad_cam

    spec, model, extractor = resnet50
    images = [torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    sequential = [(capture_activations(extractor, x), grad_cam(model, "layer4", x, 3)) for x in images]
    results: list = [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        results[i] = (capture_activations(extractor, images[i]), grad_cam(model, "layer4", images[i], 3))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (capture, cam), (expected_capture, expected_cam) in zip(results, sequential):
        for layer in ("layer1.0", "layer4.2"):
            torch.testing.assert_close(capture.activations[layer], expected_capture.activations[layer])
        np.testing.assert_allclose(cam, expected_cam, rtol=1e-5, atol=1e-7)


def test_mosaic_places_each_channel_in_its_tile():
    activation = torch.randn(5, 6, 6, generator=torch.Generator().manual_seed(0))
    order = [3, 0, 4, 1, 2]
    mosaic = channel_mosaic(activation, order, "Viridis", shared_scale=False)
    assert mosaic.channels.tolist() == [[3, 0, 4], [1, 2, -1]]
    pitch_h, pitch_w = mosaic.pitch
    for (row, col), channel in np.ndenumerate(mosaic.channels):
        tile = mosaic.rgb[row * pitch_h: row * pitch_h + 6, col * pitch_w: col * pitch_w + 6]
        if channel < 0:
            assert (tile == 255).all()
            continue
        values = activation[channel].numpy()
        expected = apply_colormap((values - values.min()) / (values.max() - values.min()), "Viridis")
        np.testing.assert_array_equal(tile, expected)
    shared = channel_mosaic(activation, order, "gray", shared_scale=True)
    low, high = float(activation.min()), float(activation.max())
    first = (activation[3].numpy() - low) / (high - low)
    np.testing.assert_array_equal(shared.rgb[:6, :6], apply_colormap(first, "gray"))


def test_mosaic_of_a_wide_layer_is_shrunk_to_fit():
    mosaic = channel_mosaic(torch.rand(64, 224, 224), range(64), max_side=1024)
    assert max(mosaic.rgb.shape[:2]) <= 1024 and mosaic.tile_shape[0] < 224


def test_statistics_and_channel_order_against_numpy():
    activation = torch.relu(torch.randn(16, 9, 9, generator=torch.Generator().manual_seed(2)))
    values = activation.numpy()
    stats = layer_stats(activation, bins=10)
    assert stats.zero_fraction == pytest.approx((values == 0).mean())
    assert stats.counts.sum() == values.size and stats.maximum == pytest.approx(values.max())
    flat = values.reshape(16, -1)
    assert channel_order(activation, "mean").tolist() == list(np.argsort(-flat.mean(1), kind="stable"))
    assert channel_order(activation, "max").tolist() == list(np.argsort(-flat.max(1), kind="stable"))
