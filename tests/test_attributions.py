"""Captum-based attributions against direct computations, on a small CNN and on
EfficientNet-Lite0's real weights."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import pretrained
from app import attributions
from app.classify import model_view, normalize
from app.deletion import deletion_curve, removed_look
from app.images import decode_image
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
    with pytest.raises(ValueError, match="must fit"):
        attributions.occlusion(model, x, 0, window=64, stride=8)
    with pytest.raises(ValueError, match="stride"):
        attributions.occlusion(model, x, 0, window=8, stride=16)


def test_deletion_curve_equals_one_image_at_a_time(small):
    model, x = small
    attribution = np.random.default_rng(3).random((32, 32))
    curve = deletion_curve(model, x, attribution, 0, steps=4, block=8)
    cells = torch.from_numpy(attribution).reshape(4, 8, 4, 8).mean(dim=(1, 3)).reshape(-1)
    order = torch.argsort(-cells, stable=True)
    blurred = removed_look(x)
    for fraction, probability in zip(curve.fractions, curve.probabilities):
        keep = torch.ones(16)
        keep[order[: round(fraction * 16)]] = 0
        mask = keep.reshape(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1)
        with torch.inference_mode():
            expected = torch.softmax(model(x * mask + blurred * (1 - mask)), dim=1)[0, 0]
        assert probability == pytest.approx(float(expected), rel=1e-5)
    assert curve.fractions.tolist() == [0, 0.25, 0.5, 0.75, 1.0]


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
