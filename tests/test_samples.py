"""The bundled samples come from installed wheels and decode without notes."""

import pytest

from app.images import decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes


@pytest.mark.parametrize("key", SAMPLES)
def test_sample_decodes(key):
    image = decode_image(sample_bytes(key), SAMPLES[key].title)
    assert min(image.size) >= 300 and image.notes == ()
    assert "·" in SAMPLES[key].credit


def test_the_default_is_the_cat_and_the_set_is_complete():
    assert DEFAULT_SAMPLE == "cat"
    assert set(SAMPLES) == {"cat", "coffee", "astronaut", "rocket", "palace", "flower"}
