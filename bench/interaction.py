"""Every control of every page, once, timed from the input to the figure painted.

Starts the app by the README's command, uploads a real photo (scikit-image's astronaut
saved as JPEG), visits every page once so that the models are loaded, then on each page
changes every control it finds in the DOM (sliders, select sliders, selectboxes, radios,
checkboxes and toggles, number inputs, multiselects, segmented controls, tabs, buttons, and
the pictures one clicks to choose a patch or a token), re-reading the page after each change
so that controls a change reveals are covered too. A change is timed from the action to the
end of the script run it started (the server's `script_finished` message as Chromium received
it, CDP's WebSocket frame events) plus one requestAnimationFrame round trip in the page: the
figure is painted. Long jobs (buttons that start a training run, a landscape grid or a slow
attribution, and controls whose run ends showing a progress bar: work moved to the
background, such as loading a model or a loss line) are timed to the first sign of progress
(a progress bar, a spinner, or the run that shows the job's state) and reported apart; the
next control waits until they end. The baseline is the same measurement on a one-slider
Streamlit page served in the same run by the same Streamlit: the ratio to it travels between
machines.

    python -m bench.interaction              # every page
    python -m bench.interaction --pages "Feature maps" Home

Last line: `interaction: controls=N p50_ms=... p95_ms=... worst_ms=... worst=NAME baseline_ms=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, running_app
from tests.student_browser import new_page, open_page, run_clock, upload

MAIN = "[data-testid='stMain']"
# Buttons that start work lasting seconds to minutes: timed to the first sign of progress.
# A button's text starts with its icon's ligature name where it has one ("play_arrow Start").
LONG_JOB = re.compile(r"(^|\s)(Start|Run |Compute|Check three|Time every)")
SKIPPED_BUTTONS = re.compile(r"^(Download|Cancel)")  # the network; a job's own cancel is used after it
NO_RERUN_S = 3.0  # an action that sends no rerun request within this is a client-side control
ACTION_TIMEOUT_S = 180.0
MAX_ACTIONS_PER_PAGE = 60
PROGRESS = f"{MAIN} [data-testid='stProgress'], {MAIN} [data-testid='stSpinner']"
BAR = f"{MAIN} [data-testid='stProgress']"
NEW_PROGRESS = ", ".join(f"{one}:not([data-bench-seen])" for one in PROGRESS.split(", "))
PAINTED = "() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))"
BASELINE_APP = 'import streamlit as st\n\nvalue = st.slider("Value", 0, 100, 50)\nst.write(value)\n'
BASELINE_CHANGES = 10

# Every kind of control: (kind, selector of its container, selector of its label inside).
KINDS = (
    ("slider", "[data-testid='stSlider']", "[data-testid='stWidgetLabel']"),
    ("selectbox", "[data-testid='stSelectbox']", "[data-testid='stWidgetLabel']"),
    ("multiselect", "[data-testid='stMultiSelect']", "[data-testid='stWidgetLabel']"),
    ("radio", "[data-testid='stRadio']", "[data-testid='stWidgetLabel']"),
    ("checkbox", "[data-testid='stCheckbox']", "label"),
    ("number", "[data-testid='stNumberInput']", "[data-testid='stWidgetLabel']"),
    ("segmented", "[data-testid='stButtonGroup']", None),
    ("button", "[data-testid='stButton']", "button"),
    ("tab", "[data-testid='stTabs'] [role='tab']", None),
    ("picture", "iframe[title*='image_coordinates']", None),  # click a patch or a token
)


@dataclass
class Timing:
    name: str
    ms: float
    kind: str  # "control", "long job", "client only", "timeout"
    server_ms: float = float("nan")  # of which: from the rerun request sent to the run's end received


@dataclass
class Report:
    timings: list[Timing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_driven: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Timing]:
        return sorted((t for t in self.timings if t.kind == kind), key=lambda t: t.ms)


def photo_jpeg(folder: Path) -> Path:
    path = folder / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).save(path, format="JPEG", quality=90)
    return path


async def controls_on(page, title: str) -> list[tuple[str, str, object]]:
    """(name, kind, locator) of every visible, enabled control in the page's main area, named
    by page, kind and label (numbered where labels repeat)."""
    found, seen = [], {}
    for kind, selector, label_selector in KINDS:
        elements = page.locator(f"{MAIN} {selector}")
        for index in range(await elements.count()):
            element = elements.nth(index)
            if not await element.is_visible() or await _disabled(element, kind):
                continue
            if kind == "tab":
                label = await element.inner_text()
            elif kind == "picture":
                label = "click on the picture"
            elif label_selector is None:
                label = await element.get_attribute("aria-label") or await element.inner_text()
            else:
                labels = element.locator(label_selector)
                label = await labels.first.inner_text() if await labels.count() else "?"
            label = " ".join(label.split())[:50]
            if kind == "button" and SKIPPED_BUTTONS.match(label):
                continue
            name = f"{title} · {kind} · {label}"
            seen[name] = seen.get(name, 0) + 1
            found.append((name if seen[name] == 1 else f"{name} #{seen[name]}", kind, element))
    return found


async def _disabled(element, kind: str) -> bool:
    if kind == "picture":
        return False
    if kind in ("button", "tab"):
        target = element.locator("button") if kind == "button" else element
        return await target.first.is_disabled()
    inputs = element.locator("input, [role='slider']")
    if not await inputs.count():
        return False
    first = inputs.first
    return await first.get_attribute("aria-disabled") == "true" or await first.is_disabled()


async def prepare(page, kind: str, element):
    """Finds how to change one control (the next option, one step, the other state) and returns
    that change as an action: what is timed is the student's input alone, not the bench's
    reading of the page (each attribute read is a round trip through the browser's driver)."""
    if kind == "slider":
        thumb = element.get_by_role("slider").first
        before = await thumb.get_attribute("aria-valuetext")  # Streamlit's thumbs have no aria-valuenow
        await thumb.focus()

        async def step():
            await thumb.press("ArrowRight")
            if await thumb.get_attribute("aria-valuetext") == before:  # at its end
                await thumb.press("ArrowLeft")
        return step
    if kind == "selectbox":
        combo = element.get_by_role("combobox").first
        # A click that lands while the main area still scrolls the box into view does not open it.
        for _ in range(3):
            await combo.scroll_into_view_if_needed()
            await asyncio.sleep(0.3)
            await combo.click()
            if await combo.get_attribute("aria-expanded") == "true":
                break
            await page.keyboard.press("Escape")
        options = page.get_by_role("option")
        # The open list is scrolled to the chosen option: the first one may be out of sight.
        await page.get_by_role("listbox").first.wait_for(timeout=10_000)
        count = await options.count()
        chosen = [i for i in range(count) if await options.nth(i).get_attribute("aria-selected") == "true"]
        return lambda: options.nth((chosen[0] + 1) % count if chosen else min(1, count - 1)).click()
    if kind == "multiselect":
        await element.locator("input").first.click()
        option = page.get_by_role("option").first
        await option.wait_for(timeout=10_000)

        async def pick():
            await option.click()
            await page.keyboard.press("Escape")
        return pick
    if kind == "radio":
        radios = element.get_by_role("radio")
        count = await radios.count()
        checked = [i for i in range(count) if await radios.nth(i).is_checked()]
        return element.locator("[role='radiogroup'] label").nth((checked[0] + 1) % count if checked else 0).click
    if kind == "checkbox":
        return element.locator("label").first.click
    if kind == "number":
        up, down = (element.locator(f"[data-testid='stNumberInputStep{way}']") for way in ("Up", "Down"))
        if await up.count():
            return (up if await up.is_enabled() else down).click
        field = element.locator("input").first  # a narrow input has no step buttons
        await field.focus()

        async def step():
            await field.press("ArrowUp")
            await field.press("Enter")
        return step
    if kind == "segmented":
        buttons = element.locator("button")
        count = await buttons.count()
        pressed = [i for i in range(count)
                   if "true" in (await buttons.nth(i).get_attribute("aria-checked") or "",
                                 await buttons.nth(i).get_attribute("aria-pressed") or "")]
        return buttons.nth((pressed[0] + 1) % count if pressed else 0).click
    if kind == "button":
        return element.locator("button").first.click
    if kind == "picture":  # a quarter of the way in: not the centre, which starts selected
        picture = element.content_frame.locator("img").first
        box = await picture.bounding_box()
        return lambda: picture.click(position={"x": box["width"] / 4, "y": box["height"] / 4})
    return element.click  # a tab


async def timed(page, prepared, long_job: bool = False) -> tuple[float, str, float]:
    """Milliseconds from the action (made by `prepared()`, once the page is idle) to the
    painted end of the run it started (to the first progress shown, for a long job), what was
    measured, and the milliseconds from the page's rerun request to the run's end (the server's
    share, with the WebSocket's)."""
    clock = run_clock(page)
    await asyncio.wait_for(clock.idle(), ACTION_TIMEOUT_S)
    action = await prepared()
    # Progress already on the page (a job of an earlier control) is not this action's.
    await page.evaluate("selector => document.querySelectorAll(selector).forEach(e => e.dataset.benchSeen = '1')",
                        PROGRESS)
    asked, start = len(clock.requested), time.monotonic()
    await action()
    progress_ms = None  # when a spinner or bar first showed: a run that ends on a bar is timed to it
    while True:
        now = time.monotonic()
        if progress_ms is None and await page.locator(NEW_PROGRESS).count():
            progress_ms = (time.monotonic() - start) * 1e3
            if long_job:
                return progress_ms, "long job", float("nan")
        if clock.finished and clock.finished[-1] > start and clock.finished[-1] >= clock.started[-1] \
                and len(clock.requested) > asked:
            await page.evaluate(PAINTED)
            ms = (time.monotonic() - start) * 1e3
            server = (clock.finished[-1] - clock.requested[asked]) * 1e3
            if await page.locator(BAR).count():  # its work went on in the background: progress shown
                return min(ms, progress_ms or ms), "long job", server
            return ms, "control", server
        if len(clock.requested) == asked and now - start > NO_RERUN_S:
            await page.evaluate(PAINTED)
            return (time.monotonic() - start) * 1e3, "client only", float("nan")
        if now - start > ACTION_TIMEOUT_S:
            return (now - start) * 1e3, "timeout", float("nan")
        await asyncio.sleep(0.01)


async def stop_jobs(page) -> None:
    """Cancels what a long job started, so that it does not slow the controls timed after it."""
    for name in ("Cancel", "Stop all"):
        buttons = page.locator(f"{MAIN} [data-testid='stButton'] button").filter(has_text=name)
        for index in range(await buttons.count()):
            if await buttons.nth(index).is_enabled():
                await buttons.nth(index).click()
                await asyncio.sleep(0.5)
    await run_clock(page).idle()


async def until_done(page) -> None:
    """Until the work a control started in the background has ended (no progress bar left)."""
    deadline, clear_since = time.monotonic() + ACTION_TIMEOUT_S, None
    # No bar for a whole second: a job that ends can start the next (a model loads, then the
    # page's curves), with a run between them that shows none.
    while time.monotonic() < deadline:
        if await page.locator(BAR).count():
            clear_since = None
        elif clear_since is None:
            clear_since = time.monotonic()
        elif time.monotonic() - clear_since > 1.0:
            break
        await asyncio.sleep(0.1)
    await run_clock(page).idle()


async def open_expanders(page) -> None:
    closed = page.locator(f"{MAIN} [data-testid='stExpander'] details:not([open]) > summary")
    for _ in range(await closed.count()):
        await closed.first.click()


async def drive_page(page, title: str, report: Report) -> None:
    await open_page(page, title)
    await until_done(page)
    done: set[str] = set()
    selected_tabs = page.locator(f"{MAIN} [data-testid='stTabs'] [role='tab'][aria-selected='true']")
    for _ in range(MAX_ACTIONS_PER_PAGE):
        await open_expanders(page)
        for index in range(await selected_tabs.count()):  # an open tab is not a change
            label = " ".join((await selected_tabs.nth(index).inner_text()).split())[:50]
            done.add(f"{title} · tab · {label}")
        pending = [c for c in await asyncio.wait_for(controls_on(page, title), 120) if c[0] not in done]
        # Tabs last: opening one hides the controls of the tab that was open.
        pending.sort(key=lambda c: c[1] == "tab")
        if not pending:
            break
        name, kind, element = pending[0]
        done.add(name)
        long_job = kind == "button" and bool(LONG_JOB.search(name.split(" · ", 2)[2]))
        try:
            ms, measured, server_ms = await asyncio.wait_for(
                timed(page, lambda k=kind, e=element: prepare(page, k, e), long_job), ACTION_TIMEOUT_S + 30)
        except Exception as error:  # reported, and the bench goes on with the next control
            report.not_driven.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0][:120]}")
            await page.keyboard.press("Escape")
            continue
        report.timings.append(Timing(name, ms, measured, server_ms))
        print(f"  {ms:8.0f} ms  (server {server_ms:5.0f})  {measured:11s}  {name}", flush=True)
        if long_job:
            await stop_jobs(page)
        elif measured == "long job":
            await until_done(page)
        for text in await page.locator(f"{MAIN} [data-testid='stException']").all_inner_texts():
            report.errors.append(f"after {name}: {text[:200]}")


async def bench_app(url: str, photo: Path, titles: list[str] | None, report: Report) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await new_page(await browser.new_context(viewport={"width": 1280, "height": 900}))
        await page.goto(url)
        await page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stRadio']")
        page.set_default_timeout(15_000)  # a control that vanished mid-read must not hold the bench
        await run_clock(page).idle()
        sidebar = page.locator("[data-testid='stSidebar']")
        await run_clock(page).act(sidebar.get_by_text("Upload", exact=True).click)
        await upload(page, photo)
        links = page.locator("[data-testid='stSidebarNav'] a")
        # A link's text is its icon's ligature name, then its title.
        every = [(await links.nth(i).inner_text()).strip().splitlines()[-1].strip()
                 for i in range(await links.count())]
        for title in every:  # warm: every model and first capture loaded once
            await open_page(page, title)
            await until_done(page)
        for title in titles or every:
            print(f"{title}:", flush=True)
            try:
                await drive_page(page, title, report)
            except Exception as error:  # the page is reported, the next one is driven
                report.not_driven.append(f"{title}, the rest of the page: {type(error).__name__}: "
                                         f"{str(error).splitlines()[0][:120]}")
        await browser.close()


async def bench_baseline(url: str) -> list[float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await new_page(await browser.new_context(viewport={"width": 1280, "height": 900}))
        await page.goto(url)
        await page.wait_for_selector("[data-testid='stSlider']")
        await run_clock(page).idle()
        slider = page.locator(f"{MAIN} [data-testid='stSlider']")
        times = [(await timed(page, lambda: prepare(page, "slider", slider)))[0]
                 for _ in range(BASELINE_CHANGES)]
        await browser.close()
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="*", help="page titles (default: every page)")
    arguments = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory() as folder:
        baseline_script = Path(folder) / "one_slider.py"
        baseline_script.write_text(BASELINE_APP)
        command = [sys.executable, "-m", "streamlit", "run", str(baseline_script)]
        with running_app(free_port(), command=command) as (url, _, _):
            baseline = statistics.median(asyncio.run(bench_baseline(url)))
        with running_app(free_port()) as (url, _, _):
            asyncio.run(bench_app(url, photo_jpeg(Path(folder)), arguments.pages, report))

    controls = report.of("control")
    print("\nevery control, by time (ms, input to figure painted; in brackets, from the rerun request to the "
          "run's end):")
    for timing in controls:
        print(f"{timing.ms:8.0f}  ({timing.server_ms:5.0f})  {timing.name}")
    for kind, title in (("long job", "long jobs, to the first progress shown (goal <= 1000 ms)"),
                        ("client only", "controls that start no script run (drawn in the browser)"),
                        ("timeout", f"no run ended within {ACTION_TIMEOUT_S:.0f} s")):
        if report.of(kind):
            print(f"\n{title}:")
            for timing in report.of(kind):
                print(f"{timing.ms:8.0f}  {timing.name}")
    for line in report.not_driven:
        print(f"not driven: {line}")
    for line in report.errors:
        print(f"error: {line}")
    times = [t.ms for t in controls]
    worst = controls[-1] if controls else Timing("none", float("nan"), "control")
    p95 = percentile(times, 95)
    print(f"\nbaseline (one slider, one st.write): {baseline:.0f} ms; p95 / baseline = {p95 / baseline:.1f}; "
          f"over 1000 ms: {sum(t > 1000 for t in times)}; over 2000 ms: {sum(t > 2000 for t in times)}")
    print(f"interaction: controls={len(times)} p50_ms={percentile(times, 50):.0f} p95_ms={p95:.0f} "
          f"worst_ms={worst.ms:.0f} worst={worst.name.replace(' ', '_')} baseline_ms={baseline:.0f}")


if __name__ == "__main__":
    main()
