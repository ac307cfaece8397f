"""The receptive-field page in AppTest: six networks' effective receptive fields over the image
and a bundled photo, the area measure in the table recomputed from the maps of the job; the
theoretical fields drawn where they fit; trained weights, where the server has them, against
the untrained."""

import numpy as np
import pytest
import torch

from app.atlas.erf import contribution_area
from app.atlas.erf_subjects import BY_KEY, SUBJECTS
from app.images import decode_image
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
from tests.conftest import app_at, chart_spec, notebook_reproduces


def test_six_networks_compared_with_their_area_measures():
    app = app_at("pages/receptive_fields.py")
    app.slider(key="erf_images").set_value(2).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["Network"]) == [s.title for s in SUBJECTS]
    from components.server_state import SHARED_JOBS

    [job] = [j for key, j in SHARED_JOBS.items() if key[0] == "erf" and len(key[1]) == 2]
    maps = job.snapshot().result
    for subject, row in zip(SUBJECTS, table.itertuples()):
        erf = maps[subject.key]
        assert erf.shape == (224, 224) and np.isfinite(erf).all() and erf.sum() > 0
        assert row[3] == pytest.approx(contribution_area(erf, 0.2))  # "Area holding 20%"
    words = " ".join(c.value for c in app.caption)
    assert "half of it lies in" in words and "ConvNeXt" in words


def test_an_earlier_stage_draws_the_theoretical_fields_that_fit():
    app = app_at("pages/receptive_fields.py")
    app.slider(key="erf_images").set_value(1).run()
    app.select_slider(key="erf_stage").set_value("1").run()
    assert not app.exception
    shapes = chart_spec(app, "erf_maps")["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [(95, 130), (76, 152), (52, 176), (12, 216)]
    words = " ".join(c.value for c in app.caption)
    assert "Dotted squares" in words and "ViT-B/16, Swin-T mix tokens by attention" in words
    assert "No trained weights for these networks are on this server" in app.info[0].value  # offline
    notebook_reproduces(app, "centre_unit_boxes", "erf_maps")


def test_trained_weights_on_the_server_are_compared_with_the_untrained(monkeypatch):
    """A ResNet-50 with other random weights stands in for downloaded ones: the page shows
    both maps and the area measure of each, recomputed here."""
    import torchvision

    import components.erf_work as work
    from app.atlas.erf import effective_receptive_field, layer_output

    def stand_in(registry):
        torch.manual_seed(1)
        return torchvision.models.resnet50(weights=None).eval()

    monkeypatch.setattr(work, "with_trained_weights", lambda: [BY_KEY["resnet50"]])
    monkeypatch.setattr(work, "trained_model", stand_in)
    app = app_at("pages/receptive_fields.py")
    app.slider(key="erf_images").set_value(1).run()
    assert not app.exception and not app.info
    spec = chart_spec(app, "erf_trained")
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["ResNet-50, untrained", "ResNet-50, trained"]
    model = stand_in("resnet50")
    image = work.erf_batch([decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb])
    expected = effective_receptive_field(layer_output(model, model.layer4), image)
    words = " ".join(c.value for c in app.caption)
    assert f"{contribution_area(expected, 0.5):.2%} trained" in words
