"""The loss-landscape page in AppTest: lines, a grid job to its end, the side-by-side comparison."""

import pytest

from app.datasets import fashion_mnist_dir
from tests.conftest import app_at, figure_text

pytestmark = pytest.mark.skipif(fashion_mnist_dir() is None, reason="the shipped networks need Fashion-MNIST")


@pytest.fixture
def app():
    return app_at("pages/loss_landscape.py")


def _wait_for_jobs(at):
    for job in at.session_state["landscape_jobs"].values():
        job.thread.join(timeout=300)
    at.run()


def test_lines_and_a_pca_plane_with_the_path(app):
    assert "From the initial to the final weights" in figure_text(app)
    app.radio(key="plane_kind").set_value("PCA of the training path")
    app.select_slider(key="plane_resolution").set_value(9).run()
    assert "of its variance" in " ".join(c.value for c in app.caption)
    app.button(key="start_Compute the surface").click().run()
    _wait_for_jobs(app)
    assert not app.exception
    figures = figure_text(app)
    assert "training path" in figures and "final weights" in figures


def test_batch_norm_side_by_side_on_one_colour_scale(app):
    app.select_slider(key="compare_resolution").set_value(9).run()
    app.button(key="start_Compute both").click().run()
    _wait_for_jobs(app)
    assert not app.exception
    figures = figure_text(app)
    assert "LeNet-5, no batch norm (shipped)" in figures and "LeNet-5, batch norm (shipped)" in figures


def test_an_unaffordable_grid_is_refused_with_its_estimate(app, monkeypatch):
    import components.landscape_jobs as jobs

    monkeypatch.setattr(jobs, "MAX_SECONDS", 1)
    app.run()
    assert any("more than the 0 allowed" in e.value or "allowed" in e.value for e in app.error)


def test_the_sample_agrees_with_the_full_training_set(app):
    app.button(key="land_full").click().run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 3 and table["agree"].all()


def test_a_corrupt_shipped_file_is_named_and_refused(monkeypatch, tmp_path):
    import components.landscape_jobs as jobs
    import pretrained.landscape_models as shipped

    for name in (m.filename for m in shipped.SHIPPED.values()):
        data = bytearray((shipped.PROJECT_CHECKPOINTS / name).read_bytes())
        data[-100] ^= 0xFF  # one flipped byte
        (tmp_path / name).write_bytes(bytes(data))
    monkeypatch.setattr(shipped, "PROJECT_CHECKPOINTS", tmp_path)
    jobs._shipped_subject.clear()  # a network verified earlier in this process is cached
    try:
        at = app_at("pages/loss_landscape.py")
        assert any("cannot be loaded" in e.value and "landscape_lenet.safetensors" in e.value for e in at.error)
    finally:
        jobs._shipped_subject.clear()
