"""What keeps a registry model in memory on a shared server: the models' cache and the sessions
using it, never what was built or captured from it."""

import gc
import weakref

import pytest

import pretrained
from app.images import decode_image
from app.samples import sample_bytes
from components import cnn_capture
from components.models import model_key
from components.server_state import CAPTURES, FEATURE_EXTRACTORS, MODEL_CACHE


@pytest.mark.filterwarnings("ignore:.*UNTRAINED")
def test_a_model_the_models_cache_lets_go_is_freed_with_its_extractor_and_captures():
    image = decode_image(sample_bytes("cat"), "cat")
    loaded = pretrained.load_model("mobilenet_v2", "cpu")
    key = model_key(loaded)
    MODEL_CACHE.get(key, lambda ready=loaded: ready)
    inspection = cnn_capture.inspect_image(loaded, image)
    assert key in FEATURE_EXTRACTORS and inspection.layers[0].name == loaded.spec.layers[0]
    model = weakref.ref(loaded.model)
    del loaded, inspection

    MODEL_CACHE.retain(lambda held: held != key)  # evicted, as by a larger model
    other = pretrained.load_model("mobilenet_v3_large", "cpu")
    MODEL_CACHE.get(model_key(other), lambda: other)
    cnn_capture.inspect_image(other, image)  # the next capture of any session prunes
    gc.collect()
    assert key not in FEATURE_EXTRACTORS and model_key(other) in FEATURE_EXTRACTORS
    assert ("cnn", image.sha256, *key) in CAPTURES  # its capture stays cached…
    assert model() is None  # …without keeping the model
