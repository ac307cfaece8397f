"""Loss landscapes: the grid against a plain per-point loop, directions, projections."""

import numpy as np
import pytest
import torch

from app.landscape.grid import (
    EvaluationSet,
    LossGrid,
    drawable,
    evaluate_grid,
    evaluate_line,
    filter_normalized_direction,
    flatten,
    parameters_of,
    pca_directions,
    point_weights,
    unflatten,
)
from app.training.datasets import SOURCES, split
from app.training.fashion_mnist import fashion_mnist_dir
from app.training.loop import TrainingConfig, train
from app.training.networks import build
from pretrained.landscape_models import SHIPPED, load


@pytest.fixture(scope="module")
def trained():
    data = split(SOURCES["Digits (8×8, scikit-learn)"].load(), 200, seed=0)
    result = train(TrainingConfig(model="LeNet-5", batch_norm=True, epochs=4, checkpoints=8), data)
    model = result.model.eval()
    return model, parameters_of(model.state_dict(), model), result, EvaluationSet(data.val_x, data.val_y)


def test_grid_equals_a_plain_per_point_loop(trained):
    model, final, _, data = trained
    directions = (filter_normalized_direction(final, 0), filter_normalized_direction(final, 1))
    axis = np.linspace(-1, 1, 5)
    surface = evaluate_grid(model, final, directions, data, axis, axis)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    reference = build("LeNet-5", (1, 28, 28), 10, batch_norm=True)
    for i, beta in enumerate(axis):
        for j, alpha in enumerate(axis):
            moved = {name: final[name] + alpha * directions[0][name] + beta * directions[1][name] for name in final}
            reference.load_state_dict({**state, **moved})  # write the weights, as Li et al.'s code does
            with torch.inference_mode():
                logits = reference.eval()(data.images)
            expected_loss = float(torch.nn.functional.cross_entropy(logits, data.labels))
            expected_accuracy = float((logits.argmax(1) == data.labels).float().mean())
            assert surface.loss[i, j] == pytest.approx(expected_loss, rel=1e-5)
            assert surface.accuracy[i, j] == pytest.approx(expected_accuracy)
    for name, tensor in model.state_dict().items():  # the model itself was never written to
        torch.testing.assert_close(tensor, state[name], rtol=0, atol=0)


def test_filter_normalised_directions_match_filter_norms(trained):
    _, final, _, _ = trained
    direction = filter_normalized_direction(final, seed=3)
    for name, weight in final.items():
        if weight.dim() <= 1:  # biases and batch norm: zeroed
            assert torch.count_nonzero(direction[name]) == 0, name
        else:
            rows = weight.reshape(weight.shape[0], -1).norm(dim=1)
            torch.testing.assert_close(direction[name].reshape(weight.shape[0], -1).norm(dim=1), rows, rtol=1e-5, atol=1e-7)
    assert not torch.equal(flatten(direction), flatten(filter_normalized_direction(final, seed=4)))


def test_the_pca_plane_of_a_path_in_a_known_plane_keeps_its_distances(trained):
    _, final, _, _ = trained
    d1, d2 = filter_normalized_direction(final, 0), filter_normalized_direction(final, 1)
    coordinates = np.array([[2.0, -1.0], [1.5, -0.4], [0.7, 0.3], [0.2, 0.1], [0.0, 0.0]])
    path = [point_weights(final, (d1, d2), tuple(c)) for c in coordinates]
    plane = pca_directions(path)
    assert sum(plane.explained) == pytest.approx(1.0, abs=1e-6)
    # PCA finds the same plane, in its own orthonormal axes: distances along the path are kept.
    lengths = flatten(d1).norm(), flatten(d2).norm()
    assert plane.coordinates[-1] == pytest.approx([0.0, 0.0], abs=1e-4)
    for a, b in ((0, 1), (0, 4), (2, 3)):
        true = torch.linalg.norm(flatten(path[a]) - flatten(path[b]))
        found = np.linalg.norm(plane.coordinates[a] - plane.coordinates[b])
        assert found == pytest.approx(float(true), rel=1e-3)
    assert lengths[0] > 0


def test_a_short_path_has_no_plane():
    weights = {"w": torch.ones(2, 2)}
    with pytest.raises(ValueError, match="at least 4 checkpoints"):
        pca_directions([weights, weights, weights])


def test_the_real_training_path_spans_a_plane(trained):
    model, final, result, _ = trained
    path = [parameters_of(state, model) for _, state in result.checkpoints]
    plane = pca_directions(path)
    assert 0.5 < plane.explained[0] <= 1.0 and plane.coordinates.shape == (len(path), 2)
    torch.testing.assert_close(flatten(unflatten(flatten(final), final)), flatten(final))


def test_a_cancelled_grid_leaves_the_rest_blank(trained):
    model, final, _, data = trained
    directions = (filter_normalized_direction(final, 0), filter_normalized_direction(final, 1))
    done = []
    surface = evaluate_grid(model, final, directions, data, np.linspace(-1, 1, 21), np.linspace(-1, 1, 21),
                            on_point=lambda *args: done.append(args[-1]), should_stop=lambda: len(done) >= 81)
    assert len(done) == 81 and np.isfinite(surface.loss).sum() == 81  # exactly the 9×9 coarse points
    assert np.isfinite(surface.loss[::5, ::5]).all()
    preview = drawable(surface, 9)  # the coarse sub-grid, computed values only
    assert preview.loss.shape == (9, 9) and np.isfinite(preview.loss).all()
    rows = [int(np.argmin(abs(surface.betas - b))) for b in preview.betas]
    cols = [int(np.argmin(abs(surface.alphas - a))) for a in preview.alphas]
    np.testing.assert_array_equal(preview.loss, surface.loss[np.ix_(rows, cols)])
    assert rows[0] == 0 and rows[-1] == 20 and cols == rows  # the preview spans the whole plane
    unfinished = LossGrid(surface.alphas, surface.betas, surface.loss.copy(), surface.accuracy)
    unfinished.loss[0, 0] = np.nan
    assert drawable(unfinished, 9) is None  # a corner of the preview missing: nothing to draw yet
    complete = LossGrid(surface.alphas, surface.betas, np.zeros((21, 21)), np.zeros((21, 21)))
    assert drawable(complete, 9) is complete


def test_a_line_is_the_grid_along_one_direction_and_stops_when_asked(trained):
    model, final, _, data = trained
    direction = filter_normalized_direction(final, 0)
    axis = np.linspace(-1, 1, 5)
    grid = evaluate_grid(model, final, (direction, direction), data, axis, np.zeros(1))  # β = 0: α alone
    done = []
    loss, accuracy = evaluate_line(model, final, direction, data, axis, on_point=lambda: done.append(1))
    np.testing.assert_allclose(loss, grid.loss[0], rtol=1e-6)
    np.testing.assert_allclose(accuracy, grid.accuracy[0])
    assert len(done) == 5
    stopped, _ = evaluate_line(model, final, direction, data, axis, on_point=lambda: done.append(1),
                               should_stop=lambda: len(done) >= 7)
    assert np.isfinite(stopped).tolist() == [True, True, False, False, False]


@pytest.mark.skipif(fashion_mnist_dir() is None, reason="needs dataset-fashion-mnist")
@pytest.mark.parametrize("key", list(SHIPPED))
def test_shipped_networks_load_verified_and_score_their_card(key):
    from app.landscape.subject import subject_from_fields

    trained = load(key)
    data = split(SOURCES["Fashion-MNIST"].load(), 2000, seed=0)
    subject = subject_from_fields(key, trained.title, trained.config_fields, trained.final, trained.path, data)
    with torch.inference_mode():
        accuracy = float((subject.network()(data.val_x).argmax(1) == data.val_y).float().mean())
    assert accuracy == pytest.approx(trained.validation_accuracy, abs=1e-6)
    assert len(subject.path) == 11 and subject.steps[0] == 0
    assert (flatten(subject.path[-1]) - flatten(subject.final)).abs().max() < 1e-2  # float16 path


def test_a_grid_job_and_a_page_on_one_subject_do_not_read_each_others_weights(trained):
    """A grid in a worker thread while the page thread evaluates the same subject: with
    one shared module, functional_call's parameter swaps leaked between them."""
    import threading

    from app.landscape.grid import loss_and_accuracy
    from app.landscape.subject import TrainedNetwork

    model, final, result, data = trained
    subject = TrainedNetwork("t", "t", True, model, final, [final], [0], data, data)
    assert subject.network() is not subject.network()
    directions = (filter_normalized_direction(final, 0), filter_normalized_direction(final, 1))
    axis = np.linspace(-1, 1, 7)
    expected = evaluate_grid(subject.network(), final, directions, data, axis, axis).loss
    at_final = loss_and_accuracy(subject.network(), final, data)
    results = {}
    worker = threading.Thread(target=lambda: results.setdefault(
        "grid", evaluate_grid(subject.network(), final, directions, data, axis, axis).loss))
    worker.start()
    seen = []
    while worker.is_alive():
        seen.append(loss_and_accuracy(subject.network(), final, data))
    worker.join()
    np.testing.assert_allclose(results["grid"], expected, rtol=1e-6)
    assert all(value == pytest.approx(at_final, rel=1e-6) for value in seen)


@pytest.mark.parametrize("low, high", [(0.34, 10.0), (0.3, 0.45), (0.27, 0.35), (0.21, 0.99), (1e-3, 50.0),
                                       (1e-8, 1e3), (2.2, 2.35), (0.05, 2.4)])
def test_log_ticks_are_few_readable_and_spaced(low, high):
    """The oracle for "no overlap": on a 200 px tall plot area a label needs about 16 px,
    so neighbouring ticks must sit at least 8 % of the axis apart; every label reads back
    as its value; two to eight ticks, all on the axis."""
    from app.landscape.figures import log_ticks

    values, labels = log_ticks(low, high)
    assert 2 <= len(values) <= 8
    assert all(low * (1 - 1e-9) <= v <= high * (1 + 1e-9) for v in values)
    assert [float(label) for label in labels] == pytest.approx(values, rel=1e-12)
    assert all(len(label) <= 5 for label in labels)  # "0.001", "1e-8": no 0.30000000000000004
    spacing = np.diff(np.log10(values)) / np.log10(high / low)
    assert spacing.min() >= 0.08


def test_line_and_contour_figures_use_round_ticks():
    from app.landscape.figures import contour_figure, line_figure, log_ticks, surface_3d_figure

    alphas = np.linspace(-1, 1, 11)
    loss, accuracy = 0.3 + 5 * alphas ** 2, 0.9 - 0.6 * alphas ** 2
    layout = line_figure(alphas, loss, accuracy, "t", log_scale=True).layout
    assert layout.yaxis.type == "log" and list(layout.yaxis.tickvals) == log_ticks(loss.min(), loss.max())[0]
    assert (layout.yaxis2.tickformat, layout.yaxis2.tick0, layout.yaxis2.dtick) == (".0%", 0, 0.2)
    grid = loss[None, :] + loss[:, None]
    surface = LossGrid(alphas, alphas, grid, np.clip(1 - grid / 10, 0, 1))
    colorbar = contour_figure(surface, "loss", log_scale=True).data[0].colorbar
    np.testing.assert_allclose(10 ** np.array(colorbar.tickvals), log_ticks(grid.min(), grid.max())[0])
    assert list(colorbar.ticktext) == log_ticks(grid.min(), grid.max())[1]
    accuracy_bar = contour_figure(surface, "accuracy").data[0].colorbar
    assert (accuracy_bar.tickformat, accuracy_bar.dtick) == (".0%", 0.2)
    zaxis = surface_3d_figure(surface, "loss", log_scale=True).layout.scene.zaxis
    np.testing.assert_allclose(10 ** np.array(zaxis.tickvals), log_ticks(grid.min(), grid.max())[0])
