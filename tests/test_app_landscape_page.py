"""The loss-landscape page in AppTest: lines, a grid job to its end, the side-by-side comparison."""

import pytest

from app.training.fashion_mnist import fashion_mnist_dir
from tests.conftest import app_at, chart_spec, figure_text, notebook_reproduces, open_tab

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
    open_tab(app, "land_tab", "2D plane")
    app.radio(key="plane_kind").set_value("PCA of the training path")
    app.select_slider(key="plane_resolution").set_value(9).run()
    assert "of its variance" in " ".join(c.value for c in app.caption)
    app.button(key="start_Compute the surface").click().run()
    _wait_for_jobs(app)
    assert not app.exception
    figures = figure_text(app)
    assert "training path" in figures and "final weights" in figures


def test_batch_norm_side_by_side_states_what_its_grid_shows(app):
    """The sharpness words quote the widths and eigenvalues of these two networks on this
    sample, recomputed here along the grid's own lines (α, β ∈ 9 points of ±1)."""
    import numpy as np

    from app.landscape.grid import evaluate_line, filter_normalized_direction
    from app.landscape.sharpness import basin_width, top_hessian_eigenvalue
    from components.landscape_jobs import HESSIAN_PRODUCTS, HESSIAN_TOLERANCE, subject

    app.selectbox(key="land_size").set_value("500 validation images")
    open_tab(app, "land_tab", "BN or skips: side by side")
    app.select_slider(key="compare_resolution").set_value(9).run()
    app.button(key="start_Compute both").click().run()
    _wait_for_jobs(app)
    assert not app.exception
    figures = figure_text(app)
    assert "LeNet-5, no batch norm (shipped)" in figures and "LeNet-5, batch norm (shipped)" in figures
    words = " ".join(m.value for m in app.markdown if "Sharpness, measured on this grid" in m.value)
    axis, sums, eigenvalues = np.linspace(-1, 1, 9), [], []
    for key in ("lenet", "lenet_bn"):
        network = subject(key)
        data = network.evaluation(500)
        widths = [basin_width(axis, evaluate_line(network.network(), network.final,
                                                  filter_normalized_direction(network.final, seed), data, axis)[0])
                  for seed in (0, 1)]
        eigenvalue = top_hessian_eigenvalue(network.network(), network.final, data, HESSIAN_PRODUCTS,
                                            HESSIAN_TOLERANCE, seed=0).value
        assert f"{widths[0].width:.2f} along α and {widths[1].width:.2f} along β" in words
        assert f"{eigenvalue:.3g}" in words
        sums.append(widths[0].width + widths[1].width)
        eigenvalues.append(eigenvalue)
    narrower = ["LeNet-5, no batch norm (shipped)", "LeNet-5, batch norm (shipped)"][int(np.argmin(sums))]
    assert f"the basin of **{narrower}** is narrower" in words
    captions = " ".join(c.value for c in app.caption)
    assert "What Li et al. (NeurIPS 2018) found on their networks" in captions
    assert "without skip connections (or batch norm) the landscape gets sharper" not in captions + words


def test_an_unaffordable_grid_is_refused_with_its_estimate(app, monkeypatch):
    import components.landscape_panel as panel

    monkeypatch.setattr(panel, "MAX_SECONDS", 1)
    open_tab(app, "land_tab", "2D plane")
    assert any("more than the 0 allowed" in e.value or "allowed" in e.value for e in app.error)


def test_the_sample_agrees_with_the_full_training_set(app):
    open_tab(app, "land_tab", "Sample vs full set")
    app.button(key="land_full").click().run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 3 and table["agree"].all()


def test_a_corrupt_shipped_file_is_named_and_refused(monkeypatch, tmp_path):
    import pretrained.landscape_models as shipped
    import pretrained.shipped_files as files
    from components.server_state import SHIPPED_SUBJECTS

    for name in (m.filename for m in shipped.SHIPPED.values()):
        data = bytearray((files.PROJECT_CHECKPOINTS / name).read_bytes())
        data[-100] ^= 0xFF  # one flipped byte
        (tmp_path / name).write_bytes(bytes(data))
    monkeypatch.setattr(files, "PROJECT_CHECKPOINTS", tmp_path)  # where the committed checkpoints are read
    SHIPPED_SUBJECTS.clear()  # a network verified earlier in this process is cached
    try:
        at = app_at("pages/loss_landscape.py")
        assert any("cannot be loaded" in e.value and "landscape_lenet.safetensors" in e.value for e in at.error)
    finally:
        SHIPPED_SUBJECTS.clear()


def test_a_computed_grid_comes_back_in_a_new_session_of_the_workspace(app):
    """A reload (a new session on the same workspace) shows the grid without computing anything
    again. (AppTest reruns only the page, not the entrypoint that saves the choices, so the test
    makes the same choices again; tests/test_e2e_workspace.py sees them come back in Chromium.)"""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    open_tab(app, "land_tab", "2D plane")
    app.radio(key="plane_kind").set_value("PCA of the training path")
    app.select_slider(key="plane_resolution").set_value(9).run()
    app.button(key="start_Compute the surface").click().run()
    _wait_for_jobs(app)
    computed = [c.proto.spec for c in app.get("plotly_chart")]
    reopened = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    reopened.query_params["w"] = app.session_state["_workspace"]
    reopened.run()
    reopened.switch_page("pages/loss_landscape.py").run()
    assert reopened.session_state["_workspace"] == app.session_state["_workspace"]
    open_tab(reopened, "land_tab", "2D plane")
    reopened.radio(key="plane_kind").set_value("PCA of the training path")
    reopened.select_slider(key="plane_resolution").set_value(9).run()
    assert not reopened.exception
    assert not reopened.session_state["landscape_jobs"]  # nothing was started to show it
    assert "training path" in figure_text(reopened)
    assert [c.proto.spec for c in reopened.get("plotly_chart")] == computed


def test_a_grid_round_trips_through_its_stored_bytes():
    import numpy as np

    from app.landscape.grid import LossGrid, PathPlane
    from app.landscape.records import grid_bytes, grid_from
    from app.landscape.sharpness import TopEigenvalue
    from components.landscape_jobs import GridResult

    rng = np.random.default_rng(0)
    loss = rng.random((5, 5))
    loss[1, 2] = np.nan  # a point not computed (a cancelled job)
    results = [GridResult(LossGrid(np.linspace(-1, 1, 5), np.linspace(-2, 2, 5), loss, rng.random((5, 5))),
                          PathPlane((), (0.61, 0.22), rng.random((6, 2))), TopEigenvalue(12.5, 7, True)),
               GridResult(LossGrid(np.arange(3.0), np.arange(3.0), rng.random((3, 3)), rng.random((3, 3))), None)]
    back = grid_from(grid_bytes(results), GridResult)
    for mine, theirs in zip(back, results):
        for name in ("alphas", "betas", "loss", "accuracy"):
            assert np.array_equal(getattr(mine.surface, name), getattr(theirs.surface, name), equal_nan=True)
    assert back[0].plane.explained == (0.61, 0.22) and np.array_equal(back[0].plane.coordinates,
                                                                      results[0].plane.coordinates)
    assert back[0].top_eigenvalue == results[0].top_eigenvalue
    assert back[1].plane is None and back[1].top_eigenvalue is None


def test_the_notebook_code_draws_the_lines_on_screen(app):
    """The expander's Python, run as a notebook runs it (its own network, split and 2 × 41
    points), makes the very left-hand line figure the page shows."""
    import json

    app.selectbox(key="land_size").set_value("500 validation images")
    app.number_input(key="land_line_seed").set_value(3).run()
    assert not app.exception
    code, cell = notebook_reproduces(app, "subject_lines", "land_line1")
    assert json.loads(cell["right"].to_json()) == chart_spec(app, "land_line2")
    assert "subject_lines(network, 500, 3)" in code


def test_the_notebook_code_draws_the_pca_contour_on_screen(app):
    """The plane's Python, run as a notebook runs it (its own directions, square and every
    point), makes the very contour the page shows, the training path included."""

    app.selectbox(key="land_size").set_value("500 validation images").run()
    open_tab(app, "land_tab", "2D plane")
    app.radio(key="plane_kind").set_value("PCA of the training path")
    app.select_slider(key="plane_resolution").set_value(9).run()
    app.button(key="start_Compute the surface").click().run()
    _wait_for_jobs(app)
    app.radio(key="plane_metric").set_value("accuracy").run()
    assert not app.exception
    code, cell = notebook_reproduces(app, "plane_surface", "plane_contour")
    assert cell["plane"] is not None and "plane_surface(network, 'pca', 0, 9, 1.0, 500)" in code
