"""A damaged part of a workspace (issue 15's faults) gets a clear message about that item; the
rest of the workspace opens and works: a missing or damaged image file, a run record that no
longer reads, a choice that is not JSON, a kept attribution or grid, a resume point."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from app.serving.run_owner import RunOwner
from app.training.datasets import SOURCES, split
from app.training.fashion_mnist import fashion_mnist_dir
from app.training.journal import RunJournal
from app.training.loop import TrainingConfig
from app.training.records import DataChoice
from app.training.runs import TrainingRun
from components.server_state import STORE, WORKSPACE_WORK
from tests.conftest import ROOT, open_tab

DIGITS = "Digits (8×8, scikit-learn)"


def _open(workspace: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["w"] = workspace
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_a_missing_image_file_is_named_and_the_sample_shown():
    workspace = STORE.create_workspace()
    digest = STORE.put_blob(workspace, b"\xff\xd8 a photo that will go missing")
    STORE.save_values(workspace, {"image": json.dumps({"sha256": digest, "name": "holiday.jpg"}),
                                  "choice:image_source": json.dumps("Upload")})
    STORE.blobs.path(digest).unlink()
    at = _open(workspace)
    assert any("could not be brought back" in w.value and "missing" in w.value for w in at.sidebar.warning)
    assert at.sidebar.text[0].value.startswith("Cat")  # the default sample, named
    assert at.sidebar.radio(key="image_source").value == "Upload"  # the other choices came back


def test_a_damaged_image_file_is_named_too():
    workspace = STORE.create_workspace()
    digest = STORE.put_blob(workspace, b"\xff\xd8 a photo whose bytes will change")
    STORE.save_values(workspace, {"image": json.dumps({"sha256": digest, "name": "holiday.jpg"})})
    STORE.blobs.path(digest).write_bytes(b"something else")
    at = _open(workspace)
    assert any("damaged" in w.value for w in at.sidebar.warning)


def test_a_run_that_no_longer_reads_is_named_and_the_others_are_shown():
    workspace = STORE.create_workspace()
    data = split(SOURCES[DIGITS].load(), 300, seed=0)
    choice = DataChoice(DIGITS, 300, None, len(data.train_y), len(data.val_y))
    config = TrainingConfig(model="MLP", epochs=2)
    owner = RunOwner()
    for label in ("run 1", "run 2"):
        TrainingRun(label, config, data, owner, journal=RunJournal(STORE, workspace, label, config, choice)) \
            .start().thread.join(timeout=120)
    STORE._db().execute("UPDATE runs SET config = '{broken' WHERE workspace = ? AND label = 'run 1'", (workspace,))
    at = _open(workspace, "pages/training.py")
    assert any("run 1 could not be read back" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert list(table["Status"]) == ["finished"] and table["Run"][0].startswith("run 2")


def test_a_choice_that_is_not_json_is_reset_and_said_so():
    workspace = STORE.create_workspace()
    STORE.save_values(workspace, {"choice:sample_key": "{not json", "choice:image_source": json.dumps("Sample")})
    at = _open(workspace)
    assert any("sample_key" in t.value for t in at.toast)
    assert at.sidebar.selectbox(key="sample_key").value == "cat"


def _damage_kept(workspace: str, prefix: str) -> None:
    [text] = [v for k, v in STORE.values(workspace).items() if k.startswith(prefix)]
    STORE.blobs.path(json.loads(text)["sha256"]).write_bytes(b"not what was kept")


def _occlusion_at_56(at: AppTest) -> AppTest:
    at.slider(key="occ_window").set_value(56)
    return at.slider(key="occ_stride").set_value(56).run()


def test_a_kept_attribution_that_no_longer_reads_is_named_and_offered_again():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    workspace = at.session_state["_workspace"]
    _occlusion_at_56(at.switch_page("pages/attributions.py").run())
    at.button(key="run_Occlusion").click().run()
    _damage_kept(workspace, "attribution:")
    reopened = _occlusion_at_56(_open(workspace, "pages/attributions.py"))
    assert not reopened.exception
    assert any("Occlusion kept in this workspace could not be read back" in w.value and "damaged" in w.value
               and "run it again" in w.value for w in reopened.warning)
    assert any(b.key == "run_Occlusion" for b in reopened.button)  # offered again
    assert {"map_Grad-CAM", "map_Saliency"} <= {c.key for c in reopened.get("plotly_chart")}  # the rest works


@pytest.mark.skipif(fashion_mnist_dir() is None, reason="the shipped networks need Fashion-MNIST")
def test_a_kept_grid_that_no_longer_reads_is_named_and_offered_again():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    workspace = at.session_state["_workspace"]
    at.switch_page("pages/loss_landscape.py").run()

    def plane(app: AppTest) -> AppTest:
        open_tab(app, "land_tab", "2D plane")
        return app.select_slider(key="plane_resolution").set_value(9).run()

    plane(at).button(key="start_Compute the surface").click().run()
    for job in at.session_state["landscape_jobs"].values():
        job.thread.join(timeout=300)
    at.run()
    assert "plane_contour" in {c.key for c in at.get("plotly_chart")}
    _damage_kept(workspace, "grid:")
    reopened = plane(_open(workspace, "pages/loss_landscape.py"))
    assert not reopened.exception
    assert any("A grid kept in this workspace could not be read back" in w.value and "compute it again" in w.value
               for w in reopened.warning)
    assert any(b.key == "start_Compute the surface" for b in reopened.button)


def test_a_resume_point_that_no_longer_reads_goes_on_from_the_last_checkpoint_and_says_so():
    workspace = STORE.create_workspace()
    digits = SOURCES[DIGITS].load()
    data = split(digits, 300, seed=0)
    choice = DataChoice(DIGITS, 300, None, len(data.train_y), len(data.val_y))
    config = TrainingConfig(model="MLP", epochs=40)
    owner = RunOwner()
    run = TrainingRun("run 1", config, data, owner, journal=RunJournal(STORE, workspace, "run 1", config, choice))
    run.start()
    while len(run.snapshot().steps) < 30:
        time.sleep(0.02)
    run.stop()
    run.thread.join(timeout=60)
    STORE.end_run(workspace, "run 1", "interrupted", None, None, 1.0)  # as after a restart
    row = STORE.run(workspace, "run 1")
    STORE.blobs.path(row.resume[1]).write_bytes(b"not a resume point")
    at = _open(workspace, "pages/training.py")
    assert any("exactly as if it had not stopped" in w.value for w in at.warning)  # a resume point is listed
    at.button(key="resume_run 1").click().run()
    assert not at.exception
    assert any("resume point could not be read back" in w.value and "last checkpoint" in w.value for w in at.warning)
    resumed = WORKSPACE_WORK.live(workspace)["run 1"]
    resumed.thread.join(timeout=120)
    assert resumed.snapshot().status == "finished"
