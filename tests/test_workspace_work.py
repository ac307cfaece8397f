"""Background work belongs to a workspace: kept while any of its browser sessions is connected
(a reload is a new session), stopped a grace period after the last one went."""

import time

from app.serving.workspace_work import WorkspaceWork


class FakeRun:
    def __init__(self, label, active=True):
        self.label, self.active = label, active

    def snapshot(self):
        return self


def test_a_reload_keeps_the_owner_and_its_runs():
    connected = {"tab-1"}
    work = WorkspaceWork(lambda session: session in connected, grace_s=0.2)
    work.attach("w", "tab-1")
    owner = work.owner("w")
    work.add("w", FakeRun("run 1"))
    connected.clear()  # the tab reloads: its old session is gone ...
    assert not owner.gone()  # (the grace period starts)
    connected.add("tab-2")
    work.attach("w", "tab-2")  # ... and a new session opens the same workspace
    time.sleep(0.3)
    assert not owner.gone() and work.owner("w") is owner
    assert list(work.live("w")) == ["run 1"]


def test_work_stops_a_grace_period_after_the_last_tab_closed():
    connected = {"a", "b"}
    work = WorkspaceWork(lambda session: session in connected, grace_s=0.2)
    work.attach("w", "a")
    work.attach("w", "b")
    owner = work.owner("w")
    connected.discard("a")
    time.sleep(0.3)
    assert not owner.gone()  # the other tab is still open
    connected.discard("b")
    assert not owner.gone()
    time.sleep(0.3)
    assert owner.gone()


def test_workspaces_do_not_share_owners_or_runs():
    work = WorkspaceWork(lambda session: True, grace_s=1)
    work.attach("one", "s1")
    work.attach("two", "s2")
    work.add("one", FakeRun("run 1"))
    assert work.owner("one") is not work.owner("two")
    assert work.live("two") == {}


def test_idle_workspaces_are_forgotten_and_busy_ones_kept():
    connected = set()
    work = WorkspaceWork(lambda session: session in connected, grace_s=1)
    work.attach("idle", "gone-tab")
    work.attach("busy", "gone-tab-2")
    idle_owner, busy_owner = work.owner("idle"), work.owner("busy")
    work.add("busy", FakeRun("run 1", active=True))
    work.add("other", FakeRun("run 1", active=False))  # any add prunes
    assert work.owner("idle") is not idle_owner  # forgotten, then made anew
    assert work.owner("busy") is busy_owner and list(work.live("busy")) == ["run 1"]


def test_a_script_without_a_browser_never_loses_its_work():
    work = WorkspaceWork(lambda session: False, grace_s=0.05)
    work.attach("w", None)
    owner = work.owner("w")
    time.sleep(0.1)
    assert not owner.gone()
