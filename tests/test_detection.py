"""Detection pieces against independent oracles: torchvision's box operations, a brute-force
search over every assignment, transformers' own DETR matcher and loss, and hand-counted AP."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou as torchvision_box_iou
from torchvision.ops import generalized_box_iou as torchvision_giou
from transformers.loss.loss_for_object_detection import HungarianMatcher, ImageLoss

from app.detection.average_precision import average_precision, mean_average_precision
from app.detection.boxes import box_iou, cxcywh_to_xyxy, generalized_box_iou, xyxy_to_cxcywh
from app.detection.detr_loss import NO_OBJECT_WEIGHT, set_loss
from app.detection.matching import hungarian_match, matching_costs
from app.detection.scenes import MAX_OVERLAP, make_detection_scenes, silhouette_box
from app.detection.tiny_detr import DetrSettings, TinyDetr
from app.segmentation.scenes import SILHOUETTE


def _boxes(count: int, seed: int) -> torch.Tensor:
    """Random (cx, cy, w, h) boxes inside the unit square."""
    generator = torch.Generator().manual_seed(seed)
    size = torch.rand(count, 2, generator=generator) * 0.4 + 0.05
    centre = size / 2 + torch.rand(count, 2, generator=generator) * (1 - size)
    return torch.cat([centre, size], dim=1)


def test_overlaps_equal_torchvision_s():
    a, b = cxcywh_to_xyxy(_boxes(7, 0)), cxcywh_to_xyxy(_boxes(5, 1))
    torch.testing.assert_close(box_iou(a, b)[0], torchvision_box_iou(a, b))
    torch.testing.assert_close(generalized_box_iou(a, b), torchvision_giou(a, b))
    torch.testing.assert_close(xyxy_to_cxcywh(a), _boxes(7, 0))


def _prediction(queries: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(queries, classes + 1, generator=generator) * 2, _boxes(queries, seed + 100)


@pytest.mark.parametrize("seed", range(4))
def test_the_matching_is_the_cheapest_of_every_assignment_and_equals_transformers(seed):
    logits, boxes = _prediction(6, 5, seed)
    target_classes, target_boxes = torch.tensor([3, 0, 3, 4])[: 2 + seed % 3], _boxes(2 + seed % 3, seed + 7)
    costs = matching_costs(logits.softmax(dim=-1), boxes, target_classes, target_boxes)
    rows, cols = hungarian_match(costs)
    assert list(cols) == list(range(len(target_classes)))
    best = min(itertools.permutations(range(6), len(target_classes)),
               key=lambda chosen: costs.total[list(chosen), cols].sum())
    assert costs.of((rows, cols)) == pytest.approx(costs.total[list(best), cols].sum(), abs=1e-12)
    matcher = HungarianMatcher(class_cost=1, bbox_cost=5, giou_cost=2)
    [(theirs_rows, theirs_cols)] = matcher({"logits": logits[None], "pred_boxes": boxes[None]},
                                           [{"class_labels": target_classes, "boxes": target_boxes}])
    theirs = dict(zip(theirs_cols.tolist(), theirs_rows.tolist()))
    assert [theirs[j] for j in cols] == list(rows)
    # The parts: −p(class), the L1 distance and −GIoU, computed here by hand for one pair.
    i, j = rows[0], cols[0]
    assert costs.classes[i, j] == pytest.approx(-float(logits.softmax(dim=-1)[i, target_classes[j]]))
    assert costs.boxes[i, j] == pytest.approx(float((boxes[i] - target_boxes[j]).abs().sum()))
    assert costs.total[i, j] == pytest.approx(costs.classes[i, j] + 5 * costs.boxes[i, j] + 2 * costs.giou[i, j])


def test_the_set_loss_equals_transformers_detr_loss():
    torch.manual_seed(0)
    logits = torch.randn(3, 8, 11)
    boxes = torch.stack([_boxes(8, seed) for seed in range(3)])
    classes = [torch.tensor([2, 7]), torch.tensor([5]), torch.tensor([1, 1, 9])]
    targets = [_boxes(len(c), 20 + i) for i, c in enumerate(classes)]
    ours = set_loss(logits, boxes, classes, targets)
    criterion = ImageLoss(HungarianMatcher(1, 5, 2), num_classes=10, eos_coef=NO_OBJECT_WEIGHT,
                          losses=["labels", "boxes"])
    parts = criterion({"logits": logits, "pred_boxes": boxes},
                      [{"class_labels": c, "boxes": b} for c, b in zip(classes, targets)])
    expected = parts["loss_ce"] + 5 * parts["loss_bbox"] + 2 * parts["loss_giou"]
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


def test_average_precision_counted_by_hand():
    # Scores 0.9 (hit), 0.8 (miss), 0.7 (hit) against 3 targets: precision 1, 1/2, 2/3 at recall
    # 1/3, 1/3, 2/3; made monotone, AP = 1/3·1 + 1/3·2/3 = 5/9.
    assert average_precision(np.array([0.8, 0.9, 0.7]), np.array([0.0, 1.0, 1.0]), 3) == pytest.approx(5 / 9)
    image = (np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float), np.array([1, 1, 1]),
             np.array([0.9, 0.8, 0.7]))
    truth = (np.array([[1, 1, 10, 10], [20, 20, 31, 30]], float), np.array([1, 1]))
    # The second box is a duplicate of the first: a false positive once the target is claimed.
    mean, per_class = mean_average_precision([image], [truth], classes=3)
    assert per_class[1] == pytest.approx(1 / 2 * 1 + 1 / 2 * 2 / 3) and np.isnan(per_class[0]) and mean == per_class[1]


def test_detection_scenes_box_every_garment_by_its_silhouette():
    rng = np.random.default_rng(0)
    garments = (rng.random((30, 28, 28)) * 255 * (rng.random((30, 28, 28)) > 0.6)).astype(np.uint8)
    labels = rng.integers(0, 10, 30)
    scenes = make_detection_scenes(garments, labels, 20, seed=3)
    assert len(scenes) == 20 and all(1 <= len(c) <= 3 for c in scenes.classes)
    for image, boxes in zip(scenes.images, scenes.boxes):
        overlaps = box_iou(torch.from_numpy(boxes), torch.from_numpy(boxes))[0] - torch.eye(len(boxes))
        assert overlaps.max() <= MAX_OVERLAP
        lit = image > SILHOUETTE
        covered = np.zeros_like(lit)
        for x0, y0, x1, y1 in boxes.astype(int):
            covered[y0:y1, x0:x1] = True
        assert not (lit & ~covered).any()  # every bright pixel is inside some box
    assert silhouette_box(np.pad(np.full((3, 4), 200, np.uint8), ((5, 20), (2, 22)))) == (2, 5, 6, 8)


def test_tiny_detr_shapes_and_its_kept_attention():
    model = TinyDetr(DetrSettings(queries=5, decoder_layers=2)).eval()
    output = model(torch.randn(2, 1, 64, 64), keep_attention=True)
    assert output.logits.shape == (2, 2, 5, 11) and output.boxes.shape == (2, 2, 5, 4) and output.grid == (8, 8)
    assert output.encoder_attention.shape == (2, 2, 4, 64, 64) and output.cross_attention.shape == (2, 2, 4, 5, 64)
    torch.testing.assert_close(output.cross_attention.sum(dim=-1), torch.ones(2, 2, 4, 5))
    plain = model(torch.randn(2, 1, 64, 64))
    assert plain.encoder_attention is None


@pytest.fixture(scope="module")
def small_detr():
    """transformers' DETR in a small configuration (random weights), with eager attention so
    that the library itself returns its attention maps (the oracle)."""
    from transformers import DetrConfig, DetrForObjectDetection

    torch.manual_seed(0)
    config = DetrConfig(num_labels=7, num_queries=6, d_model=32, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        backbone_config={"model_type": "timm_backbone", "backbone": "resnet18", "out_indices": [4],
                                         "use_pretrained_backbone": False})
    return DetrForObjectDetection(config).eval().requires_grad_(False)


def test_detr_capture_equals_transformers_own_attention_outputs(small_detr):
    from app.detection.capture import capture_detr

    batch = torch.randn(1, 3, 160, 224, generator=torch.Generator().manual_seed(4))
    hooks = {name: len(module._forward_hooks) for name, module in small_detr.named_modules()}  # the library's own
    captured = capture_detr(small_detr, batch)
    assert {name: len(module._forward_hooks) for name, module in small_detr.named_modules()} == hooks
    small_detr.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            reference = small_detr(pixel_values=batch, output_attentions=True)
    finally:
        small_detr.set_attn_implementation("sdpa")
    assert captured.grid == (5, 7)
    torch.testing.assert_close(captured.encoder_attention, reference.encoder_attentions[-1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(captured.cross_attention, reference.cross_attentions[-1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(captured.probabilities, reference.logits[0].softmax(dim=-1))
    torch.testing.assert_close(captured.boxes, reference.pred_boxes[0])


def test_the_published_checkpoint_s_names_are_renamed_to_the_built_model_s():
    import pretrained
    from pretrained.converters import detr_published_keys

    model = pretrained.build_model(pretrained.get_spec("detr_resnet50"))
    built = model.state_dict()
    # The names the authors' checkpoint on Hugging Face uses (transformers 4's modules).
    published = {}
    for key, tensor in built.items():
        old = key.replace("model.backbone.", "model.backbone.conv_encoder.").replace(".o_proj.", ".out_proj.")
        published[re.sub(r"(layers\.\d+)\.mlp\.(fc[12])\.", r"\1.\2.", old)] = tensor
    assert {"model.encoder.layers.0.fc1.weight", "model.backbone.conv_encoder.model.conv1.weight"} <= published.keys()
    converted = detr_published_keys(published, model)
    assert converted.keys() == built.keys()
    model.load_state_dict(converted, strict=True)


def test_what_the_view_says_is_counted_by_hand():
    from app.detection.capture import DetrCapture
    from app.detection.reading import (
        answering_no_object,
        boxes_in_pixels,
        found,
        greedy_total,
        ranked_queries,
        share_inside,
    )

    probabilities = torch.tensor([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.05, 0.05, 0.9]])
    capture = DetrCapture(probabilities, torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5],
                                                      [0.5, 0.5, 1.0, 1.0]]),
                          torch.zeros(1, 4, 4), torch.zeros(1, 3, 4), (2, 2))
    queries, classes, scores = ranked_queries(capture)
    assert list(queries) == [1, 0, 2] and list(classes) == [0, 1, 0] and scores[0] == pytest.approx(0.6)
    assert answering_no_object(capture, np.array([0, 2])) == 2 and answering_no_object(capture, np.array([1])) == 0
    np.testing.assert_allclose(boxes_in_pixels(capture, np.array([1]), 100, 200), [[0, 0, 100, 50]])
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert share_inside(values, np.array([0, 0, 100, 50]), 100, 200) == (0.1, 0.25)  # only cell (0, 0)'s centre
    truth = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], float)
    assert found(np.array([[0, 0, 10, 9], [50, 50, 60, 60]], float), np.array([3, 2]), truth, np.array([3, 1])) == 1
    total = np.array([[1.0, 1.1], [1.2, 5.0]])
    assert greedy_total(total) == pytest.approx(1.0 + 5.0)  # target 0 takes query 0, target 1 is left query 1
    assert greedy_total(total) > 1.1 + 1.2  # what the Hungarian matching finds


def test_the_shipped_small_detr_scores_its_card_s_map_on_the_test_scenes():
    from app.detection.predict import detections, scene_input
    from app.detection.scenes import TEST_SCENES, TEST_SEED
    from app.detection.shipped import shipped_tiny_detr
    from app.training.fashion_mnist import fashion_mnist_dir, load_fashion_mnist

    if fashion_mnist_dir() is None:
        pytest.skip("needs dataset-fashion-mnist")
    shipped = shipped_tiny_detr()
    assert shipped.trained, shipped.problem
    images, labels = load_fashion_mnist("test")
    scenes = make_detection_scenes(images, labels, TEST_SCENES, TEST_SEED)
    found = []
    with torch.inference_mode():
        for start in range(0, TEST_SCENES, 250):
            output = shipped.model(scene_input(scenes.images[start: start + 250]))
            found += detections(output.logits[-1], output.boxes[-1], 64)
    score, per_class = mean_average_precision(found, list(zip(scenes.boxes, scenes.classes)), 10)
    assert score == pytest.approx(shipped.map50, abs=1e-9) and score >= 0.5
    assert not np.isnan(per_class).any()
