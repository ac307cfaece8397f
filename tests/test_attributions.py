"""Captum-based attributions against direct computations, on a small CNN and on
EfficientNet-Lite0's real weights."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

import pretrained
from app.attribution import methods as attributions
from app.attribution.faithfulness import ConstantMap, Curve, Faithfulness, Stopped, faithfulness, removed_look
from app.attribution.faithfulness_table import faithfulness_rows, faithfulness_verdict
from app.attribution.sanity_check import map_similarity, randomised_model, rank_correlation
from app.images import decode_image
from app.preprocess import model_view, normalize
from app.samples import sample_bytes
from tests.conftest import ROOT


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


@pytest.fixture
def small():
    torch.manual_seed(0)
    model = SmallCnn().eval().requires_grad_(False)
    return model, torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_grad_cam_equals_a_direct_computation(small):
    model, x = small
    activation = model.features(x).detach().requires_grad_(True)  # (1, 16, 16, 16)
    score = model.head(activation.mean(dim=(2, 3)))[0, 2]
    (gradient,) = torch.autograd.grad(score, activation)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    expected = F.interpolate(cam, size=(32, 32), mode="bilinear")[0, 0].detach().numpy()
    np.testing.assert_allclose(attributions.grad_cam(model, "features.4", x, 2), expected, rtol=1e-5, atol=1e-7)
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())


@pytest.mark.parametrize("inplace", [False, True])
def test_one_pass_gives_captums_grad_cam_and_saliency(inplace):
    """gradient_maps shares one forward and backward between the two maps; an in-place ReLU
    right after the Grad-CAM layer (as in AlexNet and VGG) must not change what the layer gave."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1),
                          nn.ReLU(inplace=inplace), nn.MaxPool2d(2), nn.Conv2d(12, 6, 3, padding=1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval().requires_grad_(False)
    x = torch.randn(1, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    maps = attributions.gradient_maps(model, "2", x, 4)
    cam = attributions.grad_cam(model, "2", x, 4)
    assert cam.max() > 0 and (cam == 0).any()  # the ReLU of Grad-CAM cut something: not a trivial map
    np.testing.assert_allclose(maps["Grad-CAM"], cam, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(maps["Saliency"], attributions.saliency(model, x, 4), rtol=1e-6)
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("spec", pretrained.list_specs("cnn"), ids=lambda spec: spec.name)
def test_every_cnn_gives_grad_cam_at_its_registered_layer_and_saliency(spec):
    """The page's one-pass maps on each registry CNN (seeded random weights, 128 px) equal captum's
    Grad-CAM at the CNN's registered layer and its Saliency computed apart; the browser test opens
    the page on a few of them only."""
    torch.manual_seed(0)
    model = pretrained.build_model(spec).eval().requires_grad_(False)
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(3))
    maps = attributions.gradient_maps(model, spec.cam_layer, x, 7)
    assert maps["Grad-CAM"].shape == maps["Saliency"].shape == (128, 128)
    np.testing.assert_allclose(maps["Grad-CAM"], attributions.grad_cam(model, spec.cam_layer, x, 7),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(maps["Saliency"], attributions.saliency(model, x, 7), rtol=1e-5, atol=1e-9)
    assert maps["Saliency"].max() > 0


def test_saliency_is_the_largest_absolute_input_gradient(small):
    model, x = small
    inputs = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(inputs)[0, 4], inputs)
    np.testing.assert_allclose(attributions.saliency(model, x, 4), gradient.abs().amax(dim=1)[0].numpy(), rtol=1e-6)


def test_integrated_gradients_are_complete(small):
    """The axiom: attributions sum to f(x) − f(baseline)."""
    model, x = small
    seen = []
    attribution = attributions.integrated_gradients(model, x, 1, n_steps=64, internal_batch_size=16,
                                                    progress=seen.append)
    with torch.inference_mode():
        difference = float(model(x)[0, 1] - model(torch.zeros_like(x))[0, 1])
    assert attribution.sum() == pytest.approx(difference, rel=0.02)
    assert seen == [0.25, 0.5, 0.75, 1.0]


def test_occlusion_equals_a_brute_force_loop(small):
    model, x = small
    window, stride = 8, 4
    with torch.inference_mode():
        base = model(x)[0, 3]
        total = torch.zeros(32, 32)
        count = torch.zeros(32, 32)
        for top in range(0, 32 - window + 1, stride):
            for left in range(0, 32 - window + 1, stride):
                occluded = x.clone()
                occluded[..., top: top + window, left: left + window] = 0
                total[top: top + window, left: left + window] += base - model(occluded)[0, 3]
                count[top: top + window, left: left + window] += 1
    # captum gives each pixel the mean drop of the windows over it, in each of the 3 channels.
    expected = 3 * (total / count.clamp(min=1)).numpy()
    seen = []
    actual = attributions.occlusion(model, x, 3, window, stride, per_eval=5, progress=seen.append)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6)
    assert seen[-1] == 1.0 and len(seen) == attributions.occlusion_forward_count(32, window, stride, 5)


def test_impossible_occlusion_settings_are_refused_with_a_reason(small):
    model, x = small
    with pytest.raises(ValueError, match="at most half the 32 px input"):
        attributions.occlusion(model, x, 0, window=17, stride=8)
    with pytest.raises(ValueError, match="stride"):
        attributions.occlusion(model, x, 0, window=8, stride=16)


def test_the_largest_occlusion_window_leaves_two_by_two_positions_and_a_map_that_is_not_uniform(small):
    model, x = small
    window = attributions.largest_occlusion_window(32)
    assert attributions.occlusion_forward_count(32, window, window, 1) == 1 + 4
    assert np.ptp(attributions.occlusion(model, x, 1, window, window)) > 0


def _brute_force_curve(model, x, attribution, target, least_first=False, insert=False):
    """One image at a time, 4 × 4 squares of 8 px, at 0, 4, 8, 12, 16 squares: the first
    squares in the order taken from the original image (insertion) or from the blurred one."""
    cells = torch.from_numpy(attribution).reshape(4, 8, 4, 8).mean(dim=(1, 3)).reshape(-1)
    ranked = torch.argsort(cells if least_first else -cells, stable=True)
    blurred = removed_look(x)
    probabilities = []
    for count in range(0, 17, 4):
        original = torch.zeros(16) if insert else torch.ones(16)
        original[ranked[:count]] = 1.0 if insert else 0.0
        mask = original.reshape(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1)
        with torch.inference_mode():
            probabilities.append(float(torch.softmax(model(x * mask + blurred * (1 - mask)), dim=1)[0, target]))
    return np.array(probabilities)


def _trapezoid_area(values, step):
    return sum((a + b) / 2 * step for a, b in zip(values[:-1], values[1:]))


@pytest.fixture
def random_map():
    return np.random.default_rng(3).random((32, 32))


def test_deletion_curve_equals_one_image_at_a_time(small, random_map):
    model, x = small
    result = faithfulness(model, x, random_map, 0, steps=4, block=8, chunk=3)
    expected = _brute_force_curve(model, x, random_map, 0)
    np.testing.assert_allclose(result.deletion.probabilities, expected, rtol=1e-5)
    assert result.deletion.fractions.tolist() == [0, 0.25, 0.5, 0.75, 1.0]


def test_curves_stop_between_chunks_when_asked(small, random_map):
    """A job asked to stop (another class chosen) gives the model back within one chunk."""
    model, x = small
    passes = []
    hook = model.register_forward_hook(lambda *_: passes.append(1))
    try:
        with pytest.raises(Stopped):
            faithfulness(model, x, random_map, 0, steps=4, block=8, chunk=3, should_stop=lambda: len(passes) >= 2)
    finally:
        hook.remove()
    assert len(passes) == 2  # of the 4 passes that 2 × 5 images in chunks of 3 take


def test_insertion_curve_equals_one_image_at_a_time(small, random_map):
    """RISE's insertion: from the blurred image, the most attributed squares put back first."""
    model, x = small
    result = faithfulness(model, x, random_map, 2, steps=4, block=8, chunk=3)
    expected = _brute_force_curve(model, x, random_map, 2, insert=True)
    np.testing.assert_allclose(result.insertion.probabilities, expected, rtol=1e-5)


def test_a_page_taking_the_model_alone_waits_for_one_chunk_of_the_curves_not_all(small, random_map):
    """The curves run in the background; a page's Grad-CAM (hooks: the model alone) gets the
    model once the chunk in flight ends, not after all of them (the lock prefers writers)."""
    import threading

    from app.serving.model_lock import _lock_for, exclusive_use

    model, x = small
    forwards, in_first, go = [], threading.Event(), threading.Event()
    original = model.forward

    def counted(images):
        forwards.append(len(images))
        if len(forwards) == 1:
            in_first.set()
            go.wait(timeout=30)
        return original(images)

    model.forward = counted
    worker = threading.Thread(target=faithfulness, args=(model, x, random_map, 0), kwargs={"steps": 20, "chunk": 8})
    worker.start()
    assert in_first.wait(timeout=30)
    seen = []

    def page():
        with exclusive_use(model):
            seen.append(len(forwards))

    writer = threading.Thread(target=page)
    writer.start()
    while not _lock_for(model)._writers_waiting:  # the page waits for the model
        threading.Event().wait(0.01)
    go.set()
    writer.join(timeout=30)
    worker.join(timeout=30)
    assert seen == [1] and len(forwards) == 6  # in after the first of six chunks (42 images)


@pytest.mark.parametrize("seconds_per_image, later_chunks", [(0.3, 1), (0.04, 2), (0.001, 8)])
def test_unsized_chunks_take_about_a_tenth_of_a_second(small, random_map, monkeypatch, seconds_per_image,
                                                       later_chunks):
    """Without a chunk size the first image goes alone and is timed; then as many go together
    as take about CHUNK_SECONDS (at most MAX_CHUNK). A clock advanced by the model, not the
    machine's, so that the test does not depend on the machine's speed."""
    from app.attribution import faithfulness as module

    model, x = small
    now, sizes = [0.0], []
    original = model.forward

    def timed(images):
        sizes.append(len(images))
        now[0] += seconds_per_image * len(images)
        return original(images)

    model.forward = timed
    monkeypatch.setattr(module.time, "perf_counter", lambda: now[0])
    result = faithfulness(model, x, random_map, 0, steps=20, block=8)
    assert sizes[0] == 1 and set(sizes[1:-1]) == {later_chunks} and sum(sizes) == 42
    model.forward = original
    expected = faithfulness(model, x, random_map, 0, steps=20, block=8, chunk=42)
    np.testing.assert_allclose(result.deletion.probabilities, expected.deletion.probabilities, rtol=1e-5)
    np.testing.assert_allclose(result.insertion.probabilities, expected.insertion.probabilities, rtol=1e-5)


def test_symmetric_relevance_gain_is_least_first_minus_most_first_deletion_area(small, random_map):
    model, x = small
    result = faithfulness(model, x, random_map, 4, steps=4, block=8)
    most_first = _brute_force_curve(model, x, random_map, 4)
    least_first = _brute_force_curve(model, x, random_map, 4, least_first=True)
    np.testing.assert_allclose(result.least_relevant_first.probabilities, least_first, rtol=1e-5)
    expected = _trapezoid_area(least_first, 0.25) - _trapezoid_area(most_first, 0.25)
    assert result.symmetric_relevance_gain == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_a_constant_map_has_no_curve_and_the_table_says_so(small):
    model, x = small
    with pytest.raises(ConstantMap, match="same value"):
        faithfulness(model, x, np.zeros((32, 32)), 0)
    rows = faithfulness_rows({"Occlusion": None}, {})
    assert np.isnan(rows[0]["deletion area ↓"]) and np.isnan(rows[0]["SRG ↑"])
    assert "no order" in faithfulness_verdict(rows)


def _result(deletion, insertion):
    """A Faithfulness with two-point curves of the given areas."""
    fractions = np.array([0.0, 1.0])
    return Faithfulness(Curve(fractions, np.array([deletion, deletion])), Curve(fractions, np.array([insertion] * 2)))


def test_the_verdict_names_each_metrics_winner_and_says_when_they_disagree():
    agree = faithfulness_rows({"Grad-CAM": _result(0.1, 0.9), "random order": _result(0.3, 0.3)}, {})
    assert faithfulness_verdict(agree).startswith("On this image Grad-CAM scores best by every metric.")
    rows = faithfulness_rows({"Grad-CAM": _result(0.2, 0.9), "Saliency": _result(0.4, 0.5),
                              "random order": _result(0.1, 0.3)}, {})
    verdict = faithfulness_verdict(rows)
    assert "the metrics disagree" in verdict
    assert "**random order** by deletion area (0.100)" in verdict
    assert "**Grad-CAM** by insertion area (0.900)" in verdict
    assert "deletes as well as or better than Grad-CAM, Saliency" in verdict


def test_spearman_of_two_maps_equals_scipys_with_ties_and_is_nan_for_a_constant_map():
    rng = np.random.default_rng(0)
    first = np.maximum(rng.normal(size=(20, 20)), 0)  # ReLU: many tied zeros, as Grad-CAM has
    second = np.round(first + rng.normal(size=(20, 20)), 1)
    assert rank_correlation(first, second) == pytest.approx(spearmanr(first.ravel(), second.ravel()).statistic)
    assert np.isnan(rank_correlation(first, np.ones((20, 20))))


def test_the_randomised_model_is_seeded_frozen_and_its_maps_compare_by_scipys_spearman():
    from tests.tiny_weights import tiny_spec

    spec = tiny_spec()
    state = torch.random.get_rng_state()
    first, again, trained = randomised_model(spec, 0), randomised_model(spec, 0), randomised_model(spec, 7)
    assert torch.equal(state, torch.random.get_rng_state())  # other sessions' draws are untouched
    assert not first.training and not any(p.requires_grad for p in first.parameters())
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    maps = [attributions.saliency(model, x, 3) for model in (trained, first)]
    similarity = map_similarity(*maps)
    assert similarity.spearman == pytest.approx(spearmanr(maps[0].ravel(), maps[1].ravel()).statistic, abs=1e-9)
    assert map_similarity(maps[0], maps[0]).spearman == pytest.approx(1.0)
    assert map_similarity(maps[0], maps[0]).ssim == pytest.approx(1.0)


@pytest.fixture(scope="module")
def lite0():
    loaded = pretrained.load_model("efficientnet_lite0")
    assert loaded.weights.trained
    return loaded


def _view(sample, loaded):
    return model_view(decode_image(sample_bytes(sample)).rgb, loaded.spec.preprocessing)


def test_grad_cam_finds_the_cat_and_the_coffee_side_by_side(lite0):
    """The cat's crop on the left, the coffee's on the right: each class's Grad-CAM
    mass must fall in its own half (a bounding box test on the samples)."""
    composite = np.concatenate([_view("cat", lite0), _view("coffee", lite0)], axis=1)  # (224, 448, 3)
    batch = normalize(composite, lite0.spec.preprocessing)
    names = pretrained.class_names(lite0.spec)
    for label, half in (("tiger cat", slice(0, 224)), ("tabby", slice(0, 224)), ("espresso", slice(224, 448))):
        cam = attributions.grad_cam(lite0.model, lite0.spec.cam_layer, batch, names.index(label))
        assert cam[:, half].sum() / cam.sum() > 0.75, label


def test_repeated_captures_and_attributions_neither_leak_nor_leave_hooks():
    result = subprocess.run([sys.executable, "-m", "tests.memory_probe", "attributions"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["growth_mb"] < 20, report
    assert report["hooked"] == [] and report["parameter_grads"] is False
