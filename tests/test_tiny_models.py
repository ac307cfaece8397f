"""The project's own trained checkpoints: they load through the registry, offline,
and score the test accuracy written on their cards (when the dataset is here)."""

import re

import pytest
import torch

import pretrained
from app.training.fashion_mnist import fashion_mnist_dir, load_fashion_mnist
from pretrained.locations import PROJECT_CHECKPOINTS

TINY_MODELS = [s for s in pretrained.list_specs() if s.labels == "fashion-mnist"]


def recorded_accuracy(spec) -> float:
    card = (PROJECT_CHECKPOINTS / spec.weights.filename).with_suffix(".md").read_text()
    return float(re.search(r"\*\*test accuracy\*\*: ([\d.]+)%", card).group(1))


@pytest.mark.parametrize("spec", TINY_MODELS, ids=lambda s: s.name)
def test_checkpoint_is_committed_and_verified(spec):
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.OFFLINE_READY
    loaded = pretrained.load_model(spec)
    assert loaded.weights.trained and loaded.weights.origin == "local", loaded.weights.problem
    assert (PROJECT_CHECKPOINTS / spec.weights.filename).stat().st_size < 5e6


@pytest.mark.skipif(fashion_mnist_dir() is None, reason="needs Debian's dataset-fashion-mnist")
@pytest.mark.parametrize("spec", TINY_MODELS, ids=lambda s: s.name)
def test_checkpoint_scores_its_recorded_test_accuracy(spec):
    model = pretrained.load_model(spec).model
    images, labels = load_fashion_mnist("test")
    mean, std = spec.preprocessing.mean[0], spec.preprocessing.std[0]
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(images), 2000):
            pixels = torch.tensor(images[start: start + 2000], dtype=torch.float32)[:, None] / 255
            predicted = model((pixels - mean) / std).argmax(dim=1)
            correct += int((predicted == torch.tensor(labels[start: start + 2000])).sum())
    assert 100 * correct / len(images) == pytest.approx(recorded_accuracy(spec), abs=0.5)
