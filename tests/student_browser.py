"""Driving the app from async Playwright as a student does: each action waits for the
script run it starts, timed by the server's own messages over the page's WebSocket.
Shared by the load bench (`bench/load.py`) and the classroom tests."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass(frozen=True)
class Run:
    """The script run (or runs) one action started, on the `time.monotonic()` clock."""

    session_id: str | None
    clicked: float  # the action began
    requested: float  # the page sent its rerun request
    ended: float  # the page received the last run's end

    @property
    def served(self) -> float:
        """From the page's request to the run's end: what the server made the student wait."""
        return self.ended - self.requested

    @property
    def with_browser(self) -> float:
        """From the start of the action: adds the busy browser's own click and redraw."""
        return self.ended - self.clicked


class RunClock:
    """A page's script runs as the server reports them over its WebSocket: one `new_session`
    message when a run starts, one `script_finished` when it ends. (The page's own running
    indicator is redrawn late or never in a browser with twenty pages open.) Each frame is
    timed by Chromium as the page sent or received it (CDP's WebSocket frame events), not when
    the event reached this process through Playwright's driver: CDP's timestamps are on the
    same monotonic clock as `time.monotonic()`."""

    # Frames longer than this carry page content (figures, pictures), never the run messages:
    # they are not decoded.
    _RUN_MESSAGE_MAX = 64 * 1024

    def __init__(self):
        self.session_id: str | None = None  # the server's name for this page's session
        self.requested: list[float] = []  # rerun requests the page sent
        self.started: list[float] = []
        self.finished: list[float] = []

    @classmethod
    async def watching(cls, page) -> "RunClock":
        clock = cls()
        network = await page.context.new_cdp_session(page)
        network.on("Network.webSocketFrameSent", clock._sent)
        network.on("Network.webSocketFrameReceived", clock._received)
        await network.send("Network.enable")
        return clock

    @classmethod
    def _message(cls, event, kind):
        frame = event["response"]
        if frame["opcode"] != 2 or len(frame["payloadData"]) > cls._RUN_MESSAGE_MAX:
            return None
        message = kind()
        message.ParseFromString(base64.b64decode(frame["payloadData"]))
        return message

    def _sent(self, event) -> None:
        message = self._message(event, BackMsg)
        if message is not None and message.WhichOneof("type") == "rerun_script":
            self.requested.append(event["timestamp"])

    def _received(self, event) -> None:
        message = self._message(event, ForwardMsg)
        kind = None if message is None else message.WhichOneof("type")
        if kind == "new_session":
            self.started.append(event["timestamp"])
            self.session_id = message.new_session.initialize.session_id or self.session_id
        elif kind == "script_finished":
            self.finished.append(event["timestamp"])

    async def idle(self) -> None:
        """Until no run has been going for 0.3 s: a click that lands while the page is still
        being redrawn can hit an element that is about to be replaced, and be lost. (A run
        interrupted by a newer one never reports its end: the latest message decides.)"""
        while True:
            while not self.finished or (self.started and self.started[-1] > self.finished[-1]):
                await asyncio.sleep(0.02)
            seen = len(self.started)
            await asyncio.sleep(0.3)
            if len(self.started) == seen and self.finished[-1] >= self.started[-1]:
                return

    async def act(self, action, timeout_s: float = 180) -> Run:
        """Runs a UI action that starts a script run; returns when it ended."""
        await self.idle()
        asked, start = len(self.requested), time.monotonic()
        await action()
        while not (self.finished[-1] > start and self.finished[-1] >= self.started[-1]):
            if time.monotonic() - start > timeout_s:
                raise TimeoutError(f"no script run ended within {timeout_s} s of the action")
            await asyncio.sleep(0.01)
        requested = self.requested[asked] if len(self.requested) > asked else start
        return Run(self.session_id, start, requested, self.finished[-1])


_CLOCKS: dict[int, RunClock] = {}


async def new_page(context):
    page = await context.new_page()
    page.set_default_timeout(180_000)
    _CLOCKS[id(page)] = await RunClock.watching(page)
    return page


async def act(page, action) -> Run:
    return await _CLOCKS[id(page)].act(action)


async def upload(page, photo: Path) -> None:
    """Through the file chooser, as a student does; done when the sidebar names the photo."""
    sidebar = page.locator("[data-testid='stSidebar']")

    async def choose():
        async with page.expect_file_chooser() as chooser:
            await sidebar.locator("[data-testid='stFileUploaderDropzone']").click()
        await (await chooser.value).set_files(str(photo))

    await act(page, choose)
    await sidebar.get_by_text(f"{photo.name} · ").wait_for()


async def open_page(page, title: str) -> None:
    await act(page, lambda: page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click())


async def open_tab(page, name: str) -> None:
    await act(page, lambda: page.locator("[data-testid='stMain']").get_by_role("tab", name=name).click())


async def choose(page, label: str, option: str) -> Run:
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label)

    async def pick():
        await box.click()
        await page.get_by_role("option").filter(has_text=option).first.click()

    return await act(page, pick)


def run_clock(page) -> RunClock:
    """The clock `new_page` attached to a page: its rerun requests and script runs so far."""
    return _CLOCKS[id(page)]
