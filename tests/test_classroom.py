"""A classroom on one server, in the real app and headless Chromium: students at once see
only their own photos; a long session does not grow the server; a closed browser's
work stops; uploads obey XSRF protection and the size limit."""

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.load import classroom, server_rss_mb, student_photo
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, free_port, running_app
from tests.student_browser import act, choose, new_page, open_page, upload

pytest.importorskip("playwright")
from playwright.async_api import async_playwright  # noqa: E402

GRACE_S = 3
CACHE_MB = 48
SOAK_MODELS = ("MobileNet v3 large", "MobileNet v2", "EfficientNet-Lite0")  # the page starts on the last
GROWTH_MB = 100


@pytest.fixture(scope="module")
def server():
    # A short disconnection grace and a small capture budget, so that both are exercised in minutes.
    env = {"VISION_EXPLORER_DISCONNECT_GRACE_S": str(GRACE_S), "VISION_EXPLORER_CACHE_MB": str(CACHE_MB)}
    with running_app(free_port(), env=env) as (url, _, pid):
        yield url, pid


def test_four_students_at_once_each_see_only_their_own_photo(server, tmp_path):
    url, pid = server
    report, _, _ = asyncio.run(classroom(url, pid, 4, tmp_path))
    assert report.errors == [] and report.leaks == []
    assert len(report.latencies) == 3 * 3  # students 1-3 each changed the layer three times


async def _page(playwright, url):
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = await new_page(await browser.new_context(viewport={"width": 1280, "height": 1400}))
    await page.goto(url)
    await page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stRadio']")
    return browser, page


async def _nudge(page, slider) -> None:
    """Moves a slider one step, down unless it is at its start: every interaction must change something."""
    thumb = slider.get_by_role("slider").first

    async def move():
        before = await thumb.get_attribute("aria-valuenow")
        await thumb.press("ArrowLeft")
        if await thumb.get_attribute("aria-valuenow") == before:
            await thumb.press("ArrowRight")

    await act(page, move)


async def _other_stage(page, radio) -> None:
    """Picks stage 2, or stage 1 where 2 is chosen (options are the stage numbers)."""
    chosen = await radio.get_by_role("radio").nth(1).is_checked()
    await act(page, lambda: radio.get_by_text("1" if chosen else "2", exact=True).click())


async def _soak(url: str, pid: int, folder: Path, interactions: int) -> tuple[list[tuple[int, float]], list[str]]:
    """One student's long session: each round uploads another photo, changes the CNN and its
    layer, the Swin stage and the ViT layer, and visits four pages. Returns the server's
    RSS after each round, and every exception box seen."""
    photos = []
    for index in range(8):
        photos.append(folder / f"soak-{index}.png")
        photos[-1].write_bytes(student_photo(index))
    samples, errors, done, round_, began = [], [], 0, 0, time.monotonic()
    async with async_playwright() as playwright:
        browser, page = await _page(playwright, url)
        sidebar, main = page.locator("[data-testid='stSidebar']"), page.locator("[data-testid='stMain']")
        await act(page, lambda: sidebar.get_by_text("Upload", exact=True).click())
        while done < interactions:
            photo, model = photos[round_ % len(photos)], SOAK_MODELS[round_ % len(SOAK_MODELS)]
            steps = [
                lambda: upload(page, photo),
                lambda: open_page(page, "Feature maps"),
                lambda: choose(page, "Model", model),
                lambda: _nudge(page, main.locator("[data-testid='stSlider']").filter(has_text="Depth")),
                lambda: open_page(page, "Swin windows"),
                lambda: _other_stage(page, main.locator("[data-testid='stRadio']").filter(has_text="Stage")),
                lambda: open_page(page, "ViT & DINO attention"),
                lambda: _nudge(page, main.locator("[data-testid='stSlider']").filter(has_text="Layer")),
                lambda: open_page(page, "Home"),
            ]
            for step in steps[:interactions - done]:
                await step()
                done += 1
                errors.extend(await page.locator("[data-testid='stException']").all_inner_texts())
            samples.append((done, server_rss_mb(pid), round(time.monotonic() - began)))
            round_ += 1
        await browser.close()
    return samples, errors


@pytest.mark.timeout(900)
def test_a_hundred_and_twenty_interactions_do_not_grow_the_server(server, tmp_path):
    url, pid = server
    samples, errors = asyncio.run(_soak(url, pid, tmp_path, 120))
    (ARTIFACTS / "soak-rss.json").write_text(json.dumps(samples))
    assert errors == []
    assert samples[-1][0] == 120
    rss = [mb for _, mb, _ in samples]
    # By round 8 every model, page and photo has been seen once and the caches are full;
    # what follows may only reuse memory.
    settled = max(rss[:8])
    assert max(rss[8:]) < settled + GROWTH_MB, samples


async def _slots_busy(page) -> int:
    """Busy background slots as the Home page of a fresh session says."""
    await page.reload()
    caption = page.locator("[data-testid='stMain']").get_by_text("slots busy")
    await caption.wait_for()
    return int(re.search(r"(\d+) of \d+ slots busy", await caption.inner_text()).group(1))


def test_a_browser_closed_mid_training_stops_its_runs(server):
    url, _ = server

    async def scenario():
        async with async_playwright() as playwright:
            student, page = await _page(playwright, url)
            teacher, watcher = await _page(playwright, url)
            await open_page(page, "Live training")
            await choose(page, "Dataset", "Digits")
            epochs = page.locator("[data-testid='stMain']").get_by_label("Epochs")
            await epochs.fill("200")
            await act(page, lambda: epochs.press("Enter"))
            await act(page, lambda: page.get_by_role("button", name="Start A/B").click())
            await page.locator("[data-testid='stMain']").get_by_text("running").first.wait_for()
            before = await _slots_busy(watcher)
            await student.close()  # the tab is gone, mid-training
            closed = time.monotonic()
            while await _slots_busy(watcher) and time.monotonic() - closed < GRACE_S + 30:
                await asyncio.sleep(1)
            after, waited = await _slots_busy(watcher), time.monotonic() - closed
            await teacher.close()
            return before, after, waited

    before, after, waited = asyncio.run(scenario())
    assert before == 2 and after == 0, (before, after)
    assert waited >= GRACE_S  # not before the grace period: a reconnecting browser keeps its runs


def test_a_second_student_gets_a_slot_from_the_first_students_pair(server):
    url, _ = server

    async def start(page, button: str) -> None:
        await open_page(page, "Live training")
        await choose(page, "Dataset", "Digits")
        epochs = page.locator("[data-testid='stMain']").get_by_label("Epochs")
        await epochs.fill("200")
        await act(page, lambda: epochs.press("Enter"))
        await act(page, lambda: page.get_by_role("button", name=button, exact=True).click())
        await page.locator("[data-testid='stMain']").get_by_text(re.compile(r"run 1: .*running")).wait_for()

    async def scenario():
        async with async_playwright() as playwright:
            first, first_page = await _page(playwright, url)
            second, second_page = await _page(playwright, url)
            teacher, watcher = await _page(playwright, url)
            await start(first_page, "Start A/B")
            await start(second_page, "Start")  # both slots were the first student's: one is handed over
            first_main = first_page.locator("[data-testid='stMain']")
            await first_main.get_by_text("Paused for fairness:").wait_for()  # the notice, not the table's cell
            runs = await first_main.get_by_text(re.compile(r"run 1: .* · run 2: ")).inner_text()
            busy = await _slots_busy(watcher)
            for page in (first_page, second_page):
                await act(page, lambda page=page: page.get_by_role("button", name="Stop all").click())
            while await _slots_busy(watcher):
                await asyncio.sleep(1)
            for browser in (first, second, teacher):
                await browser.close()
            return runs, busy

    runs, busy = asyncio.run(scenario())
    assert re.search(r"running.* · run 2: .*paused|paused.* · run 2: .*running", runs), runs
    assert busy == 2


def test_an_upload_without_the_xsrf_token_is_refused(server):
    url, _ = server
    request = urllib.request.Request(f"{url}/_stcore/upload_file/some-session/some-file", data=b"x" * 100,
                                     method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403  # with XSRF off, an unknown session would get 400


def test_an_oversized_upload_gets_the_limit_message_and_the_session_goes_on(server, tmp_path):
    url, _ = server
    huge = tmp_path / "huge.png"
    huge.write_bytes(student_photo(1) + bytes(26 * 2**20))

    async def scenario():
        async with async_playwright() as playwright:
            browser, page = await _page(playwright, url)
            sidebar = page.locator("[data-testid='stSidebar']")
            await act(page, lambda: sidebar.get_by_text("Upload", exact=True).click())
            await sidebar.locator("input[type='file']").set_input_files(str(huge))
            message = sidebar.get_by_text("must be 25")
            await message.wait_for(timeout=30_000)
            text = await message.inner_text()
            await open_page(page, "Feature maps")
            errors = await page.locator("[data-testid='stException']").all_inner_texts()
            shown = await page.locator("[data-testid='stMain']").get_by_text("channels, sorted by").count()
            await browser.close()
            return text, errors, shown

    text, errors, shown = asyncio.run(scenario())
    assert "25" in text and errors == [] and shown == 1
