"""The one real ImageNet model that ships offline, end to end through the registry."""

import pytest

import pretrained
from app.images import decode_image
from app.predictions import classify
from app.preprocess import preprocess
from app.samples import sample_bytes

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


@pytest.fixture(scope="module")
def lite0():
    loaded = pretrained.load_model("efficientnet_lite0")
    assert loaded.weights.trained and loaded.weights.origin == "package", loaded.weights.problem
    return loaded


def top5(loaded, sample):
    batch = preprocess(decode_image(sample_bytes(sample)).rgb, loaded.spec.preprocessing)
    return classify(loaded.model, batch, pretrained.class_names(loaded.spec))


def test_the_cat_is_a_cat(lite0):
    predictions = top5(lite0, "cat")
    assert {p.label for p in predictions[:3]} <= CATS
    assert sum(p.probability for p in predictions[:3]) > 0.8


def test_the_coffee_is_espresso(lite0):
    best = top5(lite0, "coffee")[0]
    assert best.label == "espresso" and best.probability > 0.9


def test_the_package_file_matches_its_recorded_hash(lite0):
    from pretrained.checksums import sha256_of_file

    assert sha256_of_file(lite0.weights.path) == pretrained.get_spec("efficientnet_lite0").weights.sha256
