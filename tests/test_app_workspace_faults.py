"""A damaged part of a workspace (issue 15's faults) gets a clear message about that item; the
rest of the workspace opens and works: a missing or damaged image file, a run record that no
longer reads, a choice that is not JSON."""

import json

from streamlit.testing.v1 import AppTest

from app.serving.run_owner import RunOwner
from app.training.datasets import SOURCES, split
from app.training.journal import RunJournal
from app.training.loop import TrainingConfig
from app.training.records import DataChoice
from app.training.runs import TrainingRun
from components.server_state import STORE
from tests.conftest import ROOT

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
