"""The segmentation scores against scikit-learn and a brute-force loop; the scenes are the same
for a seed, and their masks are the garments' silhouettes."""

import numpy as np
import pytest
from sklearn.metrics import jaccard_score

from app.segmentation.metrics import boundaries, boundary_f_score, class_iou, confusion, mean_iou
from app.segmentation.scenes import GARMENT, SILHOUETTE, make_scenes


def _labels(seed, shape=(3, 20, 24), classes=5):
    rng = np.random.default_rng(seed)
    # Blocky maps, so boundaries are lines and not every pixel.
    return np.kron(rng.integers(0, classes, (shape[0], shape[1] // 4, shape[2] // 4)), np.ones((1, 4, 4), int))


def test_mean_iou_is_scikit_learns_jaccard_over_the_classes_present():
    target, predicted = _labels(0), _labels(1)
    predicted[0, :4] = 6  # a class only predicted: counts, with IoU 0
    matrix = confusion(predicted, target, 7)
    present = sorted(set(np.unique(target)) | set(np.unique(predicted)))
    expected = jaccard_score(target.ravel(), predicted.ravel(), labels=present, average=None)
    assert class_iou(matrix)[present] == pytest.approx(expected)
    assert np.isnan(class_iou(matrix)[5])  # neither true nor predicted
    assert mean_iou(matrix) == pytest.approx(expected.mean())


def test_boundary_f_score_is_the_brute_force_count():
    target, predicted = _labels(2)[0], _labels(3)[0]
    for tolerance in (0, 1, 2):
        mine, true = boundaries(predicted), boundaries(target)

        def matched(a, b):
            return sum(any(b[y, x] for y in range(max(0, i - tolerance), i + tolerance + 1)
                           for x in range(max(0, j - tolerance), j + tolerance + 1)
                           if y < b.shape[0] and x < b.shape[1]) for i, j in zip(*np.nonzero(a)))

        precision, recall = matched(mine, true) / mine.sum(), matched(true, mine) / true.sum()
        assert boundary_f_score(predicted, target, tolerance) == pytest.approx(
            2 * precision * recall / (precision + recall))
    assert boundary_f_score(target, target) == 1.0


def test_boundaries_are_the_pixels_with_a_neighbour_of_another_class():
    labels = np.zeros((5, 5), int)
    labels[1:4, 1:4] = 2
    edge = boundaries(labels)
    brute = np.array([[any(0 <= i + di < 5 and 0 <= j + dj < 5 and labels[i + di, j + dj] != labels[i, j]
                           for di, dj in ((0, 1), (1, 0), (0, -1), (-1, 0))) for j in range(5)] for i in range(5)])
    assert (edge == brute).all() and not edge[2, 2]


def test_scenes_are_the_same_for_a_seed_and_their_masks_are_silhouettes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, GARMENT, GARMENT)).astype(np.uint8)
    labels = rng.integers(0, 10, 30)
    first, again, other = (make_scenes(images, labels, 12, seed) for seed in (5, 5, 6))
    assert np.array_equal(first.images, again.images) and np.array_equal(first.masks, again.masks)
    assert not np.array_equal(first.masks, other.masks)
    assert set(np.unique(first.masks)) <= set(range(11))
    assert ((first.masks > 0) == (first.images > SILHOUETTE)).all()  # every garment pixel labelled, and no other
