"""The DETR page in AppTest: the small DETR's boxes, a query's cross-attention and the matching
against independent computations (the network's own forward, transformers' Hungarian matcher);
DETR ResNet-50 untrained offline on the photo."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
from transformers.loss.loss_for_object_detection import HungarianMatcher

from app.detection.boxes import xyxy_to_cxcywh
from app.detection.predict import scene_input
from app.detection.scenes import TEST_SCENES, TEST_SEED, make_detection_scenes
from app.detection.shipped import shipped_tiny_detr
from app.training.fashion_mnist import fashion_mnist_dir, load_fashion_mnist
from tests.conftest import app_at, chart_spec, figure_array, open_tab

needs_fashion_mnist = pytest.mark.skipif(fashion_mnist_dir() is None, reason="needs dataset-fashion-mnist")


@pytest.fixture
def app():
    return app_at("pages/detr.py")


def _output(split: str, index: int):
    images, labels = load_fashion_mnist(split)
    scenes = (make_detection_scenes(images, labels, 32, seed=0) if split == "train"
              else make_detection_scenes(images, labels, TEST_SCENES, TEST_SEED))
    with torch.no_grad():
        return scenes, shipped_tiny_detr().model(scene_input(scenes.images[index: index + 1]), keep_attention=True)


@needs_fashion_mnist
def test_a_query_s_map_is_the_small_detr_s_own_cross_attention(app):
    app.number_input(key="detr_scene").set_value(3).run()
    assert not app.exception
    query = app.selectbox(key="detr_query_tiny").value
    _, output = _output("test", 3)
    expected = output.cross_attention[-1, 0, :, query].mean(dim=0).reshape(8, 8)
    shown = figure_array(chart_spec(app, "detr_query_map")["data"][-1]["z"])
    np.testing.assert_allclose(shown, expected.numpy(), rtol=1e-5, atol=1e-7)
    # The query list starts with the query whose likeliest real class is the most probable.
    assert query == int(output.logits[-1, 0].softmax(dim=-1)[:, :-1].max(dim=-1).values.argmax())
    open_tab(app, "detr_tab", "Encoder attention")
    assert not app.exception and any("Token (4, 4) is framed" in c.value for c in app.caption)


@needs_fashion_mnist
def test_the_matching_is_transformers_hungarian_matching(app):
    open_tab(app, "detr_tab", "Bipartite matching")
    app.number_input(key="detr_train_scene").set_value(5).run()
    assert not app.exception
    scenes, output = _output("train", 5)
    targets = [{"class_labels": torch.from_numpy(scenes.classes[5]),
                "boxes": xyxy_to_cxcywh(torch.from_numpy(scenes.boxes[5]) / 64)}]
    [(rows, cols)] = HungarianMatcher(1, 5, 2)({"logits": output.logits[-1], "pred_boxes": output.boxes[-1]}, targets)
    expected = dict(zip(cols.tolist(), rows.tolist()))
    table = app.dataframe[0].value
    assert [int(t.split(":")[0]) for t in table["target"]] == sorted(expected)
    assert list(table["query"]) == [expected[j] for j in sorted(expected)]
    said = next(c.value for c in app.caption if c.value.startswith("Total cost"))
    total, greedy = (float(v) for v in re.findall(r"cost (-?\d+\.\d+)", said))
    assert total <= greedy + 1e-9 and total == pytest.approx(table["cost"].sum(), abs=0.01)


def test_detr_resnet50_runs_untrained_on_the_photo_with_its_banner(app):
    app.radio(key="detr_network").set_value("resnet50").run()
    deadline = time.monotonic() + 300
    while not any("encoder tokens" in c.value for c in app.caption) and time.monotonic() < deadline:
        time.sleep(1)
        app.run()
    assert not app.exception
    assert "UNTRAINED WEIGHTS — DETR ResNet-50" in app.error[0].value
    # The cat (451×300) at DETR's size: shorter side 800 → 1202×800, one token per 32 px, rounded up.
    assert any("1202×800 px: 25×38 = 950 encoder tokens" in c.value for c in app.caption)
    assert any("the classes are hidden" in c.value for c in app.caption)
