"""The atlas page in AppTest: every network counted, its picture in a notebook, timing on
request and its cancelling."""

import pytest

from app.atlas.catalog import ARCHITECTURES, BY_KEY
from tests.conftest import app_at, chart_spec, notebook_reproduces


@pytest.fixture
def app():
    yield app_at("pages/atlas.py")
    from components.server_state import SHARED_JOBS, SHARED_JOBS_LOCK

    # The timings are the server's, kept for every later visitor: each test times afresh, and
    # none leaves a job running when the process ends.
    with SHARED_JOBS_LOCK:
        timings = [key for key in SHARED_JOBS if key[0] == "atlas latencies"]
        jobs = [SHARED_JOBS.pop(key) for key in timings]
    for job in jobs:
        job.stop()
        job.thread.join(timeout=300)


def _row(table, model: str):
    return table[table["Model"] == model].iloc[0]


def test_every_network_is_counted_and_drawn(app):
    table = app.dataframe[0].value
    assert list(table["Model"]) == [a.title for a in ARCHITECTURES]
    assert table["Parameters (M)"].notna().all() and table["GMACs"].notna().all()
    resnet = _row(table, "ResNet-50")
    assert round(resnet["Parameters (M)"], 1) == 25.6 and resnet["ImageNet top-1 (%)"] == pytest.approx(80.858)
    assert table["Latency, batch 1 (ms)"].isna().all()  # not timed until asked
    assert resnet["Receptive field (px)"] == "427" and _row(table, "ViT-B/16")["Receptive field (px)"] == \
        "whole image"
    assert "VGG-19 takes" in " ".join(c.value for c in app.caption)
    assert chart_spec(app, "atlas_chart")["layout"]["xaxis"]["type"] == "log"
    assert app.radio(key="atlas_view").disabled
    notebook_reproduces(app, "count_cost", "atlas_chart")


def test_timing_on_request_fills_the_table_and_the_latency_view(app, monkeypatch):
    import components.atlas_work as work

    monkeypatch.setattr(work, "ARCHITECTURES", (BY_KEY["lenet5"], BY_KEY["alexnet"]))  # a short run
    monkeypatch.setattr(work, "LARGE_BATCH", 2)
    monkeypatch.setattr(work, "REPEATS", {1: 1, 2: 1})
    app.button(key="atlas_time").click().run()
    assert not app.exception
    table = app.dataframe[0].value
    timed = table[table["Latency, batch 1 (ms)"].notna()]
    assert list(timed["Model"]) == ["LeNet-5", "AlexNet"] and timed["Images/s, batch 32"].notna().all()
    app.radio(key="atlas_view").set_value("latency on this server").run()
    spec = chart_spec(app, "atlas_chart")
    assert "latency at batch 1" in spec["layout"]["xaxis"]["title"]["text"]
    assert [p[0] for trace in spec["data"] for p in trace["customdata"]] == ["alexnet"]  # LeNet has no top-1


@pytest.mark.unsettled
def test_the_timing_can_be_cancelled(app):
    from components.server_state import SHARED_JOBS

    app.button(key="atlas_time").click().run()  # every network, at batch 1 and 32: minutes here
    assert any(b.key == "atlas_time_cancel" for b in app.button)
    app.button(key="atlas_time_cancel").click().run()
    assert not app.exception
    [job] = [j for key, j in SHARED_JOBS.items() if key[0] == "atlas latencies"]
    job.thread.join(timeout=120)  # it stops between two networks
    assert job.snapshot().status == "stopped"
    assert any(b.key == "atlas_time" for b in app.button)  # offered again
    for key, other in list(SHARED_JOBS.items()):  # the counts this unsettled run left going
        if key[0] == "atlas counts":
            other.thread.join(timeout=300)
