"""Driving the real app in headless Chromium (Debian's /usr/bin/chromium, via Playwright)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


README_APP_COMMAND = ["scripts/run_app.sh"]


@contextmanager
def running_app(port: int, command: list[str] = README_APP_COMMAND, timeout_s: float = 300,
                env: dict[str, str] | None = None, options: tuple[str, ...] = ()):
    """A Streamlit server (by default the app, started by the README's command, which
    execs the server in the same process) on loopback until the block ends; yields
    (url, seconds until healthy, the server's pid). `options` go to `streamlit run`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / f"server-{port}.log").open("w")
    process = subprocess.Popen(
        [*command, "--server.port", str(port), "--server.address", "127.0.0.1", *options],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})},
    )
    try:
        healthy_after = wait_healthy(port, timeout_s, process)
        yield f"http://127.0.0.1:{port}", healthy_after, process.pid
    finally:
        with suppress(ProcessLookupError):  # a test may have killed it already (kill -9)
            os.killpg(process.pid, 15)
        process.wait(30)
        log.close()


def wait_healthy(port: int, timeout_s: float, process: subprocess.Popen | None = None) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}; see {ARTIFACTS}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no health check answer on port {port} after {timeout_s} s")


# A progress bar of background work that a page polls (components.deferred_work.live_section).
BACKGROUND_WORK = "[data-testid='stMain'] [class*='st-key-live_'] [data-testid='stProgress']"


@contextmanager
def browser_page(url: str, width: int = 1280, height: int = 720, timeout_ms: int = 120_000, on_request=None,
                 **context_options):
    """Headless Chromium showing the app at `url` in a `width`×`height` viewport, once its first
    run has ended; `on_request` sees every request the page makes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, **context_options)
            if on_request is not None:
                context.on("request", on_request)
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            wait_for_run(page)
            yield page
        finally:
            browser.close()


def wait_for_run(page, timeout_ms: int = 120_000) -> None:
    """Until the script run that the last action started has finished, and the background work
    it showed (a model loading, a loss line, a grid) has ended and been drawn."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    time.sleep(0.3)  # let the rerun request reach the server and flip the state
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    if page.locator(BACKGROUND_WORK).count():
        page.wait_for_selector(BACKGROUND_WORK, state="detached", timeout=timeout_ms)
        time.sleep(0.3)  # the run that draws the result
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_saved_as_png(page, chart, filename: str) -> None:
    """Saves `chart` with plotly's camera as a student does, and checks the file: its name, and
    a picture twice the chart's size on screen (for a projector or a handout)."""
    from PIL import Image

    chart.hover()
    with page.expect_download() as picture:
        chart.get_by_role("button", name="Download plot as a PNG").click()
    box = chart.bounding_box()
    width, height = Image.open(picture.value.path()).size
    assert picture.value.suggested_filename == filename
    assert abs(width - 2 * box["width"]) <= 4 and abs(height - 2 * box["height"]) <= 4, (width, height, box)


def exception_boxes(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()
