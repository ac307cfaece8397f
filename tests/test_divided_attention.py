"""The divided space-time network's attention for one query: against softmax(q·k/√d) recomputed
head by head from the last block's own weights on its captured input, the mapping of a query from
TimeSformer's grid to the model's against patch centres and view_indices, and the figure's tiles."""

import base64
import io
import itertools
import math

import numpy as np
import pytest
import torch
from PIL import Image

from app.video.divided_attention import attention_figure, query_attention, query_on_model_grid
from app.video.moving_fashion import FRAMES, GARMENT, SIDE, clip_input, render, view_indices
from app.video.shipped import shipped_motion_model


@pytest.fixture(scope="module")
def model():
    return shipped_motion_model("divided_st")[0]


@pytest.fixture(scope="module")
def clips():
    """A square garment moving right, rendered as the training clips are."""
    garment = np.zeros((GARMENT, GARMENT), np.float32)
    garment[3:-3, 5:-5] = 200.0
    return clip_input(render(garment, 0, (24.0, 24.0), 30.0)[None])


def projections(attention, x):
    """(q, k, v), each (..., D), of `x` (..., D) from the layer's packed input projection, in float64."""
    dim = x.shape[-1]
    weight, bias = attention.in_proj_weight.double(), attention.in_proj_bias.double()
    return [x.double() @ weight[i * dim:(i + 1) * dim].T + bias[i * dim:(i + 1) * dim] for i in range(3)]


def head_rows(attention, x, query):
    """(heads, L) softmax(q·k/√d) of sequence position `query` against every position of `x` (L, D),
    one head and one key at a time."""
    heads = attention.num_heads
    width = x.shape[1] // heads
    q, k, _ = (p.numpy() for p in projections(attention, x))
    rows = []
    for head in range(heads):
        part = slice(head * width, (head + 1) * width)
        scores = np.array([q[query, part] @ k[key, part] / math.sqrt(width) for key in range(len(x))])
        exp = np.exp(scores - scores.max())
        rows.append(exp / exp.sum())
    return np.array(rows)


def attended(attention, x):
    """The layer's output on sequences `x` (S, L, D), head by head: softmax(QKᵀ/√d)V, concatenated,
    projected."""
    heads = attention.num_heads
    width = x.shape[-1] // heads
    q, k, v = projections(attention, x)
    heads_out = [torch.softmax(q[..., s] @ k[..., s].transpose(-1, -2) / math.sqrt(width), dim=-1) @ v[..., s]
                 for s in (slice(h * width, (h + 1) * width) for h in range(heads))]
    return torch.cat(heads_out, dim=-1) @ attention.out_proj.weight.double().T + attention.out_proj.bias.double()


@pytest.mark.parametrize("query", [(0, 0, 0), (3, 2, 4), (7, 5, 5), (4, 3, 1)])
def test_the_attention_is_softmax_of_q_dot_k_from_the_last_blocks_own_weights(model, clips, query):
    inputs_seen = []  # the last block's input: in query_attention, then in the model's own forward
    block = model.blocks[-1]
    hook = block.register_forward_pre_hook(lambda module, inputs: inputs_seen.append(inputs[0].clone()))
    try:
        result = query_attention(model, clips, query)
        with torch.inference_mode():
            model(clips)
    finally:
        hook.remove()
    assert torch.equal(*inputs_seen)
    t, row, col = query
    tokens = inputs_seen[0][0]  # (T, N, D)
    rows, cols = SIDE // model.patch, SIDE // model.patch
    place = row * cols + col
    with torch.inference_mode():
        time_expected = head_rows(block.time, block.time_norm(tokens[:, place]), t).mean(axis=0)
        # The space step reads the tokens after the time step's residual, for the query's frame.
        across_time = block.time_norm(tokens.transpose(0, 1))  # (N, T, D): each place's sequence over the frames
        frame = tokens[t].double() + attended(block.time, across_time)[:, t]
        space_expected = head_rows(block.space, block.space_norm(frame.float()), place).mean(axis=0)
    assert result.time.shape == (FRAMES,) and result.space.shape == (rows, cols)
    assert result.time.sum() == pytest.approx(1, abs=1e-5) and result.space.sum() == pytest.approx(1, abs=1e-5)
    assert np.allclose(result.time, time_expected, atol=1e-5)
    assert np.allclose(result.space.ravel(), space_expected, atol=1e-5)


def test_the_attention_is_not_uniform(model, clips):
    """A trained network's weights say something: neither step spreads them evenly."""
    result = query_attention(model, clips, (3, 3, 3))
    assert result.time.max() > 1.5 / FRAMES and result.space.max() > 1.5 / result.space.size


def centre_cell(index, cells, model_cells):
    """The model cell holding the centre of cell `index` of `cells` along one axis."""
    return math.floor((index + 0.5) / cells * model_cells)


def test_a_query_maps_to_the_model_patch_under_its_centre_and_the_nearest_picked_frame():
    frames, grid, model_grid = 16, (14, 14), (6, 6)
    assert query_on_model_grid((0, 0, 0), frames, grid, FRAMES, model_grid) == (0, 0, 0)
    assert query_on_model_grid((15, 13, 13), frames, grid, FRAMES, model_grid) == (7, 5, 5)
    # The four patches around the centre of 14 × 14 go to the four around the centre of 6 × 6.
    centre = {query_on_model_grid((8, r, c), frames, grid, FRAMES, model_grid)[1:] for r in (6, 7) for c in (6, 7)}
    assert centre == {(2, 2), (2, 3), (3, 2), (3, 3)}
    picked = view_indices(frames)
    for t, row, col in itertools.product(range(frames), range(14), range(14)):
        model_t, model_row, model_col = query_on_model_grid((t, row, col), frames, grid, FRAMES, model_grid)
        assert abs(picked[model_t] - t) == min(abs(p - t) for p in picked)
        assert (model_row, model_col) == (centre_cell(row, 14, 6), centre_cell(col, 14, 6))
    for model_t, t in enumerate(picked):  # a frame the model takes maps to itself
        assert query_on_model_grid((t, 0, 0), frames, grid, FRAMES, model_grid)[0] == model_t


def test_the_same_view_maps_to_itself():
    for query in itertools.product(range(FRAMES), range(6), range(6)):
        assert query_on_model_grid(query, FRAMES, (6, 6), FRAMES, (6, 6)) == query


def strip_pixels(figure):
    uri = figure.data[0].source
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def test_the_figure_writes_each_frames_weight_and_heats_only_the_querys_frame():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (FRAMES, 48, 48), dtype=np.uint8)
    time_weights = rng.dirichlet(np.ones(FRAMES))
    space = np.zeros((6, 6))
    space[1, 4] = 1.0  # all the weight on one patch
    figure = attention_figure(frames, time_weights, space, (2, 1, 4))
    ticks = figure.layout.xaxis.ticktext
    assert len(ticks) == FRAMES
    assert all(f"{round(100 * w)}%" in tick for w, tick in zip(time_weights, ticks))
    assert "query" in ticks[2] and sum("query" in tick for tick in ticks) == 1
    pixels = strip_pixels(figure)
    tile = 144  # 48 px frames, 3 × enlarged
    pitch = pixels.shape[1] // FRAMES  # each frame and the gap after it
    for t in range(FRAMES):
        shown = pixels[:tile, t * pitch: t * pitch + tile].astype(int)
        enlarged = np.repeat(np.repeat(frames[t], 3, axis=0), 3, axis=1)[..., None].astype(int)
        changed = np.abs(shown - enlarged).sum(axis=-1) > 0
        if t != 2:
            assert not changed.any()
        else:  # only the attended patch, pixels 24–48 down and 96–120 across, is tinted
            expected = np.zeros((tile, tile), bool)
            expected[24:48, 96:120] = True
            assert changed[~expected].sum() == 0 and changed[expected].mean() > 0.9
    assert len(figure.layout.shapes) == FRAMES  # the query's place outlined in every frame
    assert {(s.x0 % pitch, s.y0) for s in figure.layout.shapes} == {(96, 24)}
