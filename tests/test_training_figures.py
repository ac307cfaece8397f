"""Live training's figures keep readable: captions in their own band, a legend below the
plots with room for its rows, the probe's runs on one x range with their lengths said."""

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageFont

from app.figures.captioned_grid import CAPTION_FONT_PX
from app.serving.run_owner import RunOwner
from app.training.datasets import SOURCES, split
from app.training.figures import (
    augmentation_figure,
    curves_figure,
    difference_labels,
    probe_drift,
    probe_figure,
    probe_span_note,
    run_table,
    wrong_images_figure,
)
from app.training.loop import TrainingConfig
from app.training.runs import TrainingRun
from pretrained.labels import FASHION_MNIST_CLASSES

DIGITS = "Digits (8×8, scikit-learn)"
FONT = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", CAPTION_FONT_PX)  # wider than Open Sans


def canvas_of(figure) -> np.ndarray:
    source = figure.data[0].source
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB"))


def assert_captions_keep_to_their_bands(figure):
    canvas = canvas_of(figure)
    assert figure.layout.height == canvas.shape[0]  # one canvas pixel per screen pixel, font sizes hold
    assert canvas.shape[1] <= 800  # fits the main column at 1280 px (about 820), so it is not shrunk
    painted = (canvas != 255).any(axis=2)  # (H, W): the pictures (black backgrounds here)
    boxes = []
    for annotation in figure.layout.annotations:
        lines = annotation.text.split("<br>")
        width = max(FONT.getlength(line) for line in lines)
        top, bottom = annotation.y, annotation.y + len(lines) * CAPTION_FONT_PX * 1.3
        left, right = annotation.x - width / 2, annotation.x + width / 2
        assert annotation.yanchor == "top" and bottom <= canvas.shape[0]
        assert not painted[int(top): int(np.ceil(bottom)), max(0, int(left)): int(np.ceil(right))].any(), \
            annotation.text  # no picture under the caption
        boxes.append((left, right, top, bottom))
    for i, (l1, r1, t1, b1) in enumerate(boxes):
        for l2, r2, t2, b2 in boxes[i + 1:]:
            assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1  # no two captions overlap


@pytest.mark.parametrize("size", [8, 28])
def test_confidently_wrong_captions_sit_in_their_own_rows(size):
    images = torch.zeros(40, 1, size, size)
    wrong = [(i, i % 10, (i + 3) % 10, 0.9 - i / 100) for i in range(16)]
    assert_captions_keep_to_their_bands(wrong_images_figure(images, wrong, FASHION_MNIST_CLASSES))


def test_augmentation_preview_captions_sit_in_their_own_rows():
    images = torch.zeros(16, 1, 28, 28)
    labels = torch.arange(16) % 10
    assert_captions_keep_to_their_bands(augmentation_figure(images, labels, FASHION_MNIST_CLASSES,
                                                            TrainingConfig().augmentation, 0))


@pytest.fixture(scope="module")
def finished_runs():
    """Four tiny runs, two of them on another split size and one half as long."""
    digits = SOURCES[DIGITS].load()
    owner = RunOwner()  # alive until the runs end: a run whose owner is gone stops
    runs = []
    for index, (config, subset) in enumerate([
            (TrainingConfig(model="MLP", epochs=2, batch_size=32), 96),
            (TrainingConfig(model="MLP", epochs=1, batch_size=32, batch_norm=True), 96),
            (TrainingConfig(model="MLP", epochs=2, batch_size=32, dropout=0.5), 64),
            (TrainingConfig(model="MLP", epochs=2, batch_size=32, width=0.5), 64)]):
        runs.append(TrainingRun(f"run {index + 1}", config, split(digits, 50, 0, subset), owner).start())
    for run in runs:
        run.thread.join(timeout=120)
    assert all(run.snapshot().status == "finished" for run in runs)
    return [run.snapshot() for run in runs]


def legend_rows(names: list[str], width_px: float) -> int:
    """Rows of a horizontal legend packed into `width_px`, texts measured in a wide font."""
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 12)
    rows, used = 1, 0.0
    for name in names:
        entry = 40 + font.getlength(name) + 10  # line sample, text, gap
        if used and used + entry > width_px:
            rows, used = rows + 1, 0.0
        used += entry
    return rows


def test_the_legend_sits_below_the_plots_with_a_row_per_need(finished_runs):
    labels = [f"{s.label}: {d}" for s, d in zip(finished_runs, difference_labels(
        [s.config for s in finished_runs], [s.data for s in finished_runs]))]
    figure = curves_figure(finished_runs, labels, 0.6)
    named = [t.name for t in figure.data if t.showlegend is not False]  # plotly shows None
    assert sorted(named) == sorted([*labels, "training (smoothed)", "validation"])  # one entry per run
    legend, margin = figure.layout.legend, figure.layout.margin
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom"
    below_axis = margin.b - 56  # under the tick labels and the "epoch" title
    assert below_axis >= 22 * legend_rows(named, 700)  # room for the rows the legend wraps into at 700 px
    assert figure.layout.height - margin.t - margin.b >= 380  # the plots themselves stay large


def test_the_table_always_names_the_data(finished_runs):
    table = run_table(finished_runs, [s.label for s in finished_runs])
    assert [row["Dataset"] for row in table] == [DIGITS] * 4
    assert [row["Train / val images"] for row in table] == ["96 / 50", "96 / 50", "64 / 50", "64 / 50"]


def test_the_probe_puts_runs_of_different_lengths_on_one_x_range_and_says_so(finished_runs):
    long, short = finished_runs[0], finished_runs[1]
    longest = max(s.steps[-1].epoch for s in (long, short))
    for snapshot in (long, short):
        figure = probe_figure(snapshot, snapshot.label, None, longest)
        low, high = figure.layout.xaxis.range
        assert low <= 0 and high >= longest and high - longest < 0.2 * longest
        assert max(figure.data[0].x) == pytest.approx(snapshot.steps[-1].epoch)
    note = probe_span_note([long, short], ["A", "B"])
    assert f"A: 2 epochs ({len(long.steps)} steps)" in note and f"B: 1 epochs ({len(short.steps)} steps)" in note
    assert len(long.steps) == 2 * 3 and len(short.steps) == 3  # ceil(96 / 32) steps per epoch
    assert probe_span_note([long, finished_runs[2]], ["A", "C"]) is not None  # same epochs, fewer steps
    assert probe_span_note([long, long], ["A", "A"]) is None


def test_the_probe_caption_states_the_drift_the_final_network_shows(finished_runs):
    snapshot = finished_runs[0]
    data = split(SOURCES[DIGITS].load(), 50, 0, 96)
    captured = []
    model = snapshot.result.model
    handle = model.probe.register_forward_hook(lambda module, args, output: captured.append(output))
    try:
        with torch.inference_mode():
            model(data.val_x[:128])
    finally:
        handle.remove()
    values = captured[0].flatten().double()
    said = probe_drift([snapshot], ["A"])
    assert said.startswith("A: mean ") and f"→ {values.mean().item():.2f}, std" in said
    assert said.endswith(f"→ {values.std(correction=0).item():.2f}")
