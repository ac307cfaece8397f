"""Effective receptive fields against brute force: finite differences for the gradient, a loop
for RepLKNet's area measure; the large-kernel stacks' shapes."""

import numpy as np
import pytest
import torch
from torch import nn

from app.atlas.erf import contribution_area, effective_receptive_field, layer_output
from app.atlas.large_kernels import LargeKernelStack


def test_the_erf_of_a_tiny_network_is_its_finite_differences():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 4, 3, padding=1)).double()
    images = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    erf = effective_receptive_field(net, images)

    def centre(x):
        return net(x)[:, :, 4, 4].sum(dim=1)  # per image

    step, expected = 1e-6, np.zeros((2, 2, 9, 9))
    with torch.no_grad():
        for c in range(2):
            for i in range(9):
                for j in range(9):
                    moved = images.clone()
                    moved[:, c, i, j] += step
                    expected[:, c, i, j] = ((centre(moved) - centre(images)) / step).numpy()
    brute = np.abs(expected).sum(axis=1).mean(axis=0)
    assert np.allclose(erf, brute, atol=1e-6)
    assert (erf[np.abs(np.arange(9) - 4)[:, None].repeat(9, 1) > 2] == 0).all()  # two 3×3 layers reach ±2


def test_the_forward_stops_at_the_layer():
    torch.manual_seed(0)
    after = nn.Conv2d(3, 3, 3)
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), after)
    calls = []
    after.register_forward_pre_hook(lambda m, i: calls.append(1))
    output = layer_output(net, net[0])(torch.randn(1, 3, 8, 8))
    assert output.shape == (1, 3, 8, 8) and calls == []  # the layer after it never ran


@pytest.mark.parametrize("share", [0.2, 0.5, 0.9, 1.0])
def test_the_area_measure_is_the_smallest_share_of_pixels_holding_the_contribution(share):
    erf = np.random.default_rng(0).random((12, 12)) ** 3
    values, total = erf.ravel(), erf.sum()
    smallest = next(k for k in range(1, values.size + 1)
                    if np.sort(values)[::-1][:k].sum() >= share * total - 1e-12)
    assert contribution_area(erf, share) == pytest.approx(smallest / values.size)


@pytest.mark.parametrize("decomposed, kernel", [(False, 31), (True, 51)])
def test_the_large_kernel_stacks_reach_their_theoretical_field(decomposed, kernel):
    torch.manual_seed(0)
    stack = LargeKernelStack(kernel, depth=1, channels=8, decomposed=decomposed).eval()
    erf = effective_receptive_field(stack, torch.randn(2, 3, 256, 256))
    rows = np.nonzero(erf.sum(axis=1))[0]
    assert stack.theoretical_receptive_field == 4 + (kernel - 1) * 4
    assert rows.max() - rows.min() + 1 == min(stack.theoretical_receptive_field, 256)


@pytest.mark.parametrize("key", ["resnet50", "convnext_tiny", "replk31"])
def test_the_gradient_reaches_exactly_the_traced_theoretical_field(key):
    """Two independent ways to the same square: kernel arithmetic on the traced graph, and the
    pixels whose gradient is not zero (random weights and images leave no pixel of the field
    at exactly zero)."""
    from app.atlas.erf_subjects import BY_KEY, seeded
    from app.atlas.stage_fields import centre_unit_boxes

    subject = BY_KEY[key]
    x0, y0, x1, y1 = centre_unit_boxes(subject)[0]
    model = seeded(subject)
    torch.manual_seed(0)
    erf = effective_receptive_field(layer_output(model, model.get_submodule(subject.stages[0])),
                                    torch.randn(2, 3, 224, 224), subject.layout)
    rows, cols = np.nonzero(erf.sum(axis=1))[0], np.nonzero(erf.sum(axis=0))[0]
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (y0, y1, x0, x1)


def test_the_child_traces_what_the_server_would_and_attention_has_no_box():
    from app.atlas.erf_subjects import BY_KEY
    from app.atlas.stage_fields import boxes_in_child, centre_unit_boxes

    traced = dict(boxes_in_child(["resnet50", "vit_b_16", "swin_t"]))
    assert traced["resnet50"] == centre_unit_boxes(BY_KEY["resnet50"])
    centre = 0.5 + 3 * 32  # unit (3, 3) of layer4's 7×7 map, 32 pixels apart
    assert traced["resnet50"][3] == (centre - 427 / 2, centre - 427 / 2, centre + 427 / 2, centre + 427 / 2)
    assert traced["vit_b_16"] == traced["swin_t"] == [None] * 4


def test_the_colour_bar_picture_shows_each_tick_in_the_maps_colour():
    import base64
    import io

    from PIL import Image

    from app.atlas.erf import erf_figure
    from app.figures.colormaps import apply_colormap, normalise

    maps = {"a": np.random.default_rng(0).random((16, 16)) ** 4, "b": np.ones((16, 16))}
    figure = erf_figure(maps, {"a": (4, 4, 12, 12)}, cols=2)
    bar = next(trace for trace in figure.data if trace.name.startswith("share"))
    picture = np.array(Image.open(io.BytesIO(base64.b64decode(bar.source.split(",", 1)[1]))))
    axis = figure.layout[bar.yaxis.replace("y", "yaxis")]
    low, high = np.log10(1e-6), float(np.log10((maps["a"] / maps["a"].sum()).max()))
    assert [int(t) for t in axis.ticktext] == list(range(-6, int(np.floor(high)) + 1))
    for value, row in zip(axis.ticktext, axis.tickvals):
        expected = apply_colormap(normalise(np.array([float(value)]), low, high), "Inferno")[0]
        assert np.abs(picture[min(int(row), 255), 0].astype(int) - expected).max() <= 3
    [box] = figure.layout.shapes
    assert (box.x0, box.x1, box.y0, box.y1) == (4, 12, 4, 12)


def test_each_title_stands_over_its_own_map():
    from app.atlas.erf import erf_figure

    maps = {f"map {i}": np.full((8, 8), i + 1.0) for i in range(6)}
    figure = erf_figure(maps, {}, cols=3)
    pictures = [trace for trace in figure.data if trace.name == "image"]
    for title, picture in zip(maps, pictures):
        [label] = [a for a in figure.layout.annotations if a.text == title]
        low, high = figure.layout[picture.xaxis.replace("x", "xaxis")].domain
        assert low <= label.x <= high


@pytest.mark.parametrize("key", ["resnet50", "convnext_tiny", "vit_b_16", "swin_t"])
def test_the_trained_twin_is_measured_at_the_same_stages(key):
    """The registry's build (timm's, for ViT and Swin) has the stages the page names, and its
    middle unit's field has the shape the untrained twin's has: what the trained comparison
    runs once weights are downloaded, here with the registry's seeded untrained weights."""
    import pretrained
    from app.atlas.erf import module_erf
    from app.atlas.erf_subjects import BY_KEY, seeded
    from pretrained.loading import build_model

    subject = BY_KEY[key]
    twin = build_model(pretrained.get_spec(subject.trained.registry)).eval()
    images = torch.randn(1, 3, 224, 224)
    for stage in (0, 3):
        trained = module_erf(twin, subject.trained.stages[stage], images, subject.layout)
        untrained = module_erf(seeded(subject), subject.stages[stage], images, subject.layout)
        assert trained.shape == untrained.shape == (224, 224) and trained.sum() > 0
        assert _centroid(trained) == pytest.approx(_centroid(untrained), abs=16)  # the same middle unit


def _centroid(erf: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(erf.shape)
    return float((rows * erf).sum() / erf.sum()), float((cols * erf).sum() / erf.sum())
