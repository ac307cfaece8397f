"""TimeSformer's five schemes: each neighbourhood against its definition, checked key by key in a
plain loop, and the keys per query against the masks counted over every query."""

import itertools

import numpy as np
import pytest

from app.video.attention_schemes import SCHEMES, attention_pairs, keys_per_query, neighbourhood

GRID = (4, 6, 5)  # frames, rows, columns: small, odd and even sides


def defined(step, key, query, grid):
    """Whether `key` is attended at `step`, from the paper's words, one key at a time."""
    (kt, kr, kc), (qt, qr, qc), (_, rows, cols) = key, query, grid
    if step == "space":
        return kt == qt
    if step == "space-time":
        return True
    if step == "time":
        return (kr, kc) == (qr, qc)
    if step == "width":
        return kt == qt and kr == qr
    if step == "height":
        return kt == qt and kc == qc
    if step == "global":
        return (kt - qt) % 2 == 0 and (kr - qr) % 2 == 0 and (kc - qc) % 2 == 0
    if step == "local":  # a rows/2 × cols/2 window in every frame, holding the query, inside the grid
        half_r, half_c = rows // 2, cols // 2
        top = min(max(qr - half_r // 2, 0), rows - half_r)
        left = min(max(qc - half_c // 2, 0), cols - half_c)
        return top <= kr < top + half_r and left <= kc < left + half_c
    raise AssertionError(step)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_every_neighbourhood_is_its_definition(scheme):
    steps = {"space": ["space"], "joint": ["space-time"], "divided": ["time", "space"],
             "local_global": ["local", "global"], "axial": ["time", "width", "height"]}[scheme]
    for query in itertools.product(*(range(n) for n in GRID)):
        masks = neighbourhood(scheme, *GRID, query)
        assert list(masks) == steps
        for step, mask in masks.items():
            keys = itertools.product(*(range(n) for n in GRID))
            expected = np.array([defined(step, key, query, GRID) for key in keys])
            assert np.array_equal(mask.ravel(), expected), (scheme, step, query)
            assert mask[query]  # every step lets the query see itself


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("grid", [GRID, (8, 14, 14), (3, 7, 4)])
def test_keys_per_query_count_the_masks_over_every_query(scheme, grid):
    counted = [sum(int(m.sum()) for m in neighbourhood(scheme, *grid, q).values())
               for q in itertools.product(*(range(n) for n in grid))]
    assert keys_per_query(scheme, *grid) == pytest.approx(np.mean(counted))
    assert attention_pairs(scheme, *grid) == sum(counted)


def test_the_papers_ordering_of_cost():
    """At TimeSformer's 8 frames of 14 × 14 patches: joint attention scores every pair; the factored
    schemes far fewer, axial the fewest (36 keys a query), space alone 196 but no other frame."""
    pairs = {scheme: attention_pairs(scheme, 8, 14, 14) for scheme in SCHEMES}
    assert pairs["joint"] == (8 * 196) ** 2
    assert pairs["axial"] < pairs["space"] < pairs["divided"] < pairs["local_global"] < pairs["joint"]
