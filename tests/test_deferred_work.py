"""Background work a page polls (components.deferred_work): the control answers with a progress
bar at once, the result appears once the work ends, and work no session owns is done once."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

GATE = threading.Event()  # the work waits for it, so the test sees the page while it runs
CALLS = []


def _page():
    import streamlit as st

    from components.deferred_work import deferred, live_section, result_or_progress
    from components.workspace import open_workspace
    from tests import test_deferred_work as here

    open_workspace()  # the entrypoint does this before any page

    def work(report, should_stop):
        here.CALLS.append(1)
        report(0.5, None)
        while not here.GATE.wait(timeout=0.05):
            if should_stop():
                return None
        return 6 * 7

    shared = st.session_state.get("shared", True)

    def body():
        question = st.session_state.get("question", 1)
        answer = result_or_progress(deferred(("answer", shared, question), work, "The answer", shared=shared),
                                    "Thinking:")
        if answer is not None:
            st.markdown(f"answer {answer}")

    live_section("answer", body)


@pytest.fixture(autouse=True)
def fresh():
    from components import server_state

    GATE.clear()
    CALLS.clear()
    server_state.SHARED_JOBS.clear()
    yield
    GATE.set()


def _app(shared: bool) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["shared"] = shared
    return at


def _texts(at) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.mark.unsettled
def test_the_page_answers_with_progress_and_shows_the_result_when_done():
    at = _app(shared=True).run()
    assert "answer" not in _texts(at)
    assert [p.proto.text for p in at.get("progress")] and "Thinking:" in at.get("progress")[0].proto.text
    GATE.set()
    from components import server_state

    for job in server_state.SHARED_JOBS.values():
        job.thread.join(timeout=30)
    at.run()
    assert "answer 42" in _texts(at) and not at.get("progress")
    assert not at.exception


@pytest.mark.unsettled
@pytest.mark.parametrize("shared, runs", [(True, 1), (False, 2)])
def test_shared_work_runs_once_for_two_sessions_and_own_work_once_each(shared, runs):
    from components import server_state

    first, second = _app(shared).run(), _app(shared).run()
    GATE.set()
    jobs = list(server_state.SHARED_JOBS.values())
    for at in (first, second):
        jobs += list(at.session_state["deferred_jobs"].values()) if "deferred_jobs" in at.session_state else []
    for job in jobs:
        job.thread.join(timeout=30)
    assert len({id(job) for job in jobs}) == runs == len(CALLS)
    assert all("answer 42" in _texts(at.run()) for at in (first, second))


def test_a_settled_run_shows_the_result():
    GATE.set()
    assert "answer 42" in _texts(_app(shared=False).run())


@pytest.mark.unsettled
def test_a_job_the_section_no_longer_shows_is_stopped():
    from components import server_state

    at = _app(shared=True).run()
    first = server_state.SHARED_JOBS[("answer", True, 1)]
    at.session_state["question"] = 2
    at.run()
    first.thread.join(timeout=30)
    assert first.snapshot().status == "stopped"
    second = server_state.SHARED_JOBS[("answer", True, 2)]
    assert second.snapshot().active
    GATE.set()
    second.thread.join(timeout=30)
    assert "answer 42" in _texts(at.run())


SEEN = {}  # question -> whether the previous question's job was already told to stop


def _subject_page():
    import streamlit as st

    from components import server_state
    from components.deferred_work import deferred, leave_subject, live_section
    from components.workspace import open_workspace
    from tests import test_deferred_work as here

    open_workspace()

    question = st.session_state.get("question", 1)
    leave_subject("answer", question)
    # What the page computes for the new subject finds the old subject's job already stopping.
    old = server_state.SHARED_JOBS.get(("subject", question - 1))
    here.SEEN[question] = old is not None and old._stop.is_set()

    def work(report, should_stop):
        while not here.GATE.wait(timeout=0.05):
            if should_stop():
                return None
        return question

    live_section("answer", lambda: deferred(("subject", question), work, "Subject", shared=True))


@pytest.mark.unsettled
def test_leaving_the_subject_stops_the_sections_work_before_the_page_computes():
    """A page that names its subject (image, model, class) at its top stops the old subject's
    jobs there, not only when its section runs at the end of the script."""
    from components import server_state

    SEEN.clear()
    at = AppTest.from_function(_subject_page, default_timeout=60).run()
    assert SEEN == {1: False}
    at.session_state["question"] = 2
    at.run()
    assert SEEN[2] is True
    first = server_state.SHARED_JOBS[("subject", 1)]
    first.thread.join(timeout=30)
    assert first.snapshot().status == "stopped"


KEPT = {}  # what the work of `_finishing_page` keeps, as a model cache would


def _finishing_page():
    import threading

    import streamlit as st

    from components.deferred_work import finish_or_stop
    from components.workspace import open_workspace
    from tests import test_deferred_work as here

    open_workspace()

    slow = st.session_state.get("slow", False)

    def work(report, should_stop):
        if slow:
            here.GATE.wait(timeout=30)
        else:  # quick, but not over before the script can look
            threading.Event().wait(0.1)
        here.KEPT["answer"] = 42

    st.markdown("before")
    finish_or_stop(("finishing", slow), work, "Finding the answer")
    st.markdown(f"after: {here.KEPT['answer']}")


@pytest.mark.unsettled
@pytest.mark.parametrize("slow", [False, True])
def test_work_that_ends_at_once_needs_no_bar_and_slow_work_stops_the_page_with_one(slow, monkeypatch):
    """finish_or_stop waits a moment (QUICK_S) for the work: quick work goes on in the same run
    without a bar that would flash; slower work shows its progress and the page stops there until
    it ends, then the run goes on past it. (The moment is made long here, so that a loaded
    machine cannot make the quick work slow.)"""
    from components import deferred_work, server_state

    monkeypatch.setattr(deferred_work, "QUICK_S", 30.0 if not slow else 0.05)

    KEPT.clear()
    at = AppTest.from_function(_finishing_page, default_timeout=60)
    at.session_state["slow"] = slow
    at.run()
    bars = [p.proto.text for p in at.get("progress")]
    if slow:
        assert "after" not in _texts(at) and "before" in _texts(at)
        assert bars and bars[0].startswith("Finding the answer… ") and bars[0].endswith(" s")
        GATE.set()
        for job in server_state.SHARED_JOBS.values():
            job.thread.join(timeout=30)
        at.run()
    else:
        assert not bars
    assert "after: 42" in _texts(at) and not at.get("progress") and not at.exception
