"""The bundled samples come from installed wheels and decode without notes."""

import numpy as np
import pytest

from app.images import decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
from app.training.datasets import sklearn_digits


@pytest.mark.parametrize("key", SAMPLES)
def test_sample_decodes(key):
    image = decode_image(sample_bytes(key), SAMPLES[key].title)
    assert min(image.size) >= 300 and image.notes == ()
    assert "·" in SAMPLES[key].credit


def test_the_default_is_the_cat_and_the_set_is_complete():
    assert DEFAULT_SAMPLE == "cat"
    assert set(SAMPLES) == {"cat", "coffee", "astronaut", "rocket", "palace", "flower"}


def test_scikit_learn_files_are_read_as_scikit_learn_reads_them():
    """The digits and the two photographs are read without importing scikit-learn (1.8 s on a
    fresh server); what is read must be what scikit-learn's own loaders return."""
    import sklearn.datasets

    pictures, labels = sklearn_digits()
    oracle = sklearn.datasets.load_digits()
    np.testing.assert_array_equal(pictures, oracle.images)
    np.testing.assert_array_equal(labels, oracle.target)
    for key, filename in (("palace", "china.jpg"), ("flower", "flower.jpg")):
        np.testing.assert_array_equal(decode_image(sample_bytes(key), key).rgb,
                                      sklearn.datasets.load_sample_image(filename))
