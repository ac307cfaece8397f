"""Nothing a student does is lost (issue 15), in Chromium on the README's command: the photo,
the choices and the training runs come back after a reload, a typed address, a server
restart and a kill -9 in the middle of a run (which then resumes from its last checkpoint); a
link to no workspace says so."""

import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import sklearn.datasets

from app.workspace.ids import new_workspace_id
from app.workspace.sqlite_store import DATABASE
from tests.browser import (
    ARTIFACTS,
    assert_saved_as_png,
    exception_boxes,
    free_port,
    running_app,
    screenshot,
    wait_for_run,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

PHOTO = Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg"
PHOTO_LINE = "flower.jpg · 640×427"


@pytest.fixture
def browser():
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_context(viewport={"width": 1280, "height": 720}).new_page()
        page.set_default_timeout(120_000)
        yield page
        chromium.close()


@pytest.fixture
def data_env(tmp_path):
    return {"VISION_EXPLORER_DATA": str(tmp_path / "data")}


def _open(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    wait_for_run(page)


def _choose(page, label: str, option: str) -> None:
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label)
    combo = box.get_by_role("combobox").first
    for _ in range(5):  # a click that lands while the page redraws focuses the box without opening it
        combo.click()
        if combo.get_attribute("aria-expanded") == "true":
            break
        page.keyboard.press("Escape")
        time.sleep(0.5)
    page.get_by_role("option").filter(has_text=option).first.click()
    wait_for_run(page)


def _set_number(page, label: str, value: int) -> None:
    field = page.locator("[data-testid='stMain']").get_by_label(label)
    field.fill(str(value))
    field.press("Enter")
    wait_for_run(page)


def _photo_line(page) -> str:
    return page.locator("[data-testid='stSidebar'] [data-testid='stText']").first.inner_text()


def _selected(page, label: str) -> str:
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label)
    return box.locator("[data-baseweb='select'] [value], [data-baseweb='select'] div[title]").first.inner_text()


def _upload(page) -> None:
    page.locator("[data-testid='stSidebar']").get_by_text("Upload", exact=True).click()
    wait_for_run(page)
    with page.expect_file_chooser() as chooser:
        page.locator("[data-testid='stFileUploaderDropzone']").click()
    chooser.value.set_files(str(PHOTO))
    wait_for_run(page)
    assert _photo_line(page) == PHOTO_LINE


def test_the_photo_and_the_choices_survive_a_reload_a_typed_address_and_a_restart(browser, data_env):
    page, port = browser, free_port()
    with running_app(port, env=data_env) as (url, _, _):
        page.goto(url)
        wait_for_run(page)
        workspace = page.url.split("w=")[1]
        assert len(workspace) == 22
        _upload(page)
        _open(page, "Optimizer race")
        _choose(page, "Surface", "Rosenbrock")
        assert "w=" + workspace in page.url  # the sidebar's link dropped it; the page put it back
        page.reload()
        wait_for_run(page)
        assert _photo_line(page) == PHOTO_LINE
        expect(page.locator("[data-testid='stMain']").get_by_text("a curved, flat-bottomed valley").first).to_be_visible()
        page.goto(f"{url}/training")  # typed by hand: no id in it; this browser's cookie has it
        wait_for_run(page)
        assert _photo_line(page) == PHOTO_LINE and "w=" + workspace in page.url
    with running_app(port, env=data_env) as (url, _, _):
        page.goto(f"{url}/optimizers")  # the first visitor of a fresh server types a page's address
        wait_for_run(page)
        assert _photo_line(page) == PHOTO_LINE
        expect(page.locator("[data-testid='stMain']").get_by_text("a curved, flat-bottomed valley").first).to_be_visible()
        expect(page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Live training")).to_be_visible()
        screenshot(page, "workspace-after-restart")
        assert exception_boxes(page) == []
    assert workspace not in (ARTIFACTS / f"server-{port}.log").read_text()  # ids are never logged


def _resume_step(data_env: dict, label: str, timeout_s: float) -> int:
    """The step of the run's newest resume point in the store, once there is one."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sqlite3.connect(Path(data_env["VISION_EXPLORER_DATA"]) / DATABASE) as db:
            found = db.execute("SELECT resume_step FROM runs WHERE label = ? AND resume_step IS NOT NULL",
                               (label,)).fetchone()
        if found or time.monotonic() > deadline:
            assert found, f"{label} has no resume point"
            return found[0]
        time.sleep(0.5)


def test_runs_come_back_after_a_reload_and_a_kill_9_in_the_middle_of_one(browser, data_env):
    page, port = browser, free_port()
    main = page.locator("[data-testid='stMain']")
    with running_app(port, env=data_env) as (url, _, pid):
        page.goto(url)
        wait_for_run(page)
        _upload(page)
        _open(page, "Live training")
        _choose(page, "Dataset", "Digits")
        _set_number(page, "Epochs", 2)
        main.get_by_role("button", name="Start", exact=True).click()
        expect(main.get_by_text("run 1: ").filter(has_text="finished").first).to_be_visible(timeout=120_000)
        time.sleep(1.5)  # the page redraws itself once a run has ended
        wait_for_run(page)
        _choose(page, "Network", "Small ResNet")  # slow enough to be still training at the kill
        _set_number(page, "Epochs", 200)
        main.get_by_role("button", name="Start", exact=True).click()
        expect(main.get_by_text(re.compile(r"run 2: .*running, epoch")).first).to_be_visible(timeout=120_000)
        page.reload()  # the run belongs to the workspace, not to the tab: it trains on, shown live
        wait_for_run(page)
        expect(main.get_by_text(re.compile(r"run 2: .*running, epoch")).first).to_be_visible(timeout=60_000)
        resume_point = _resume_step(data_env, "run 2", timeout_s=120)  # written every 10 s of training
        time.sleep(3)  # a few more metric batches written after it
        os.killpg(pid, signal.SIGKILL)
    with running_app(port, env=data_env) as (url, _, _):
        page.reload()
        wait_for_run(page)
        assert _photo_line(page) == PHOTO_LINE
        expect(main.get_by_text("run 1").filter(has_text="finished").first).to_be_visible()
        expect(main.get_by_text("was interrupted at epoch")).to_be_visible()
        # From its newest resume point, with its optimizer state: the curves after it are trained again.
        expect(main.get_by_text("exactly as if it had not stopped")).to_be_visible()
        assert _resume_step(data_env, "run 2", timeout_s=0) >= resume_point
        table = main.locator("[data-testid='stDataFrame']").first
        expect(table).to_be_visible()
        # The finished run's end-of-run figures come back with it; the interrupted run has none.
        expect(main.get_by_text("After the run")).to_be_visible()
        main.get_by_text("was interrupted at epoch").scroll_into_view_if_needed()
        screenshot(page, "workspace-after-kill")
        main.get_by_role("button", name="Resume").click()  # from its last checkpoint, under its label
        expect(main.get_by_text(re.compile(r"run 2: .*running, epoch")).first).to_be_visible(timeout=60_000)
        expect(main.get_by_text("was interrupted at epoch")).to_have_count(0)
        main.get_by_role("button", name="Stop all").click()
        expect(main.get_by_text(re.compile(r"run 2: .*stopped")).first).to_be_visible(timeout=30_000)
        assert exception_boxes(page) == []


def test_a_link_to_no_workspace_says_so_and_offers_a_fresh_one(browser, data_env):
    page = browser
    with running_app(free_port(), env=data_env) as (url, _, _):
        page.goto(url)
        wait_for_run(page)
        own = page.url.split("w=")[1]
        stranger = new_workspace_id()
        page.goto(f"{url}/?w={stranger}")
        wait_for_run(page)
        main = page.locator("[data-testid='stMain']")
        expect(main.get_by_text("No workspace has the id in this link")).to_be_visible()
        main.get_by_role("button", name="Back to this browser's workspace").click()
        wait_for_run(page)
        assert page.url.endswith(f"w={own}")
        page.goto(f"{url}/?w=../../etc/passwd")
        wait_for_run(page)
        expect(main.get_by_text("No workspace has the id in this link")).to_be_visible()
        main.get_by_role("button", name="Start a fresh workspace").click()
        wait_for_run(page)
        fresh = page.url.split("w=")[1]
        assert fresh not in (own, stranger) and len(fresh) == 22
        assert exception_boxes(page) == []


def test_a_shared_link_opens_the_same_view_elsewhere_and_forks_on_the_first_change(browser, data_env):
    sender = browser
    with running_app(free_port(), env=data_env) as (url, _, _):
        sender.goto(url)
        wait_for_run(sender)
        own = sender.url.split("w=")[1]
        _upload(sender)
        _open(sender, "Optimizer race")
        _choose(sender, "Surface", "Rosenbrock")
        sender.locator("[data-testid='stSidebar']").get_by_role("button", name="Share this view").click()
        wait_for_run(sender)
        link = sender.locator("[data-testid='stSidebar'] [data-testid='stCode']").inner_text().strip()
        assert link.startswith(f"{url}/optimizers?w=") and own not in link
        screenshot(sender, "workspace-share-link")
        with sender.expect_download() as settings:
            sender.locator("[data-testid='stSidebar']").get_by_role("button", name="Download the settings").click()
        assert settings.value.suggested_filename == "vision-explorer-optimizers-settings.json"
        assert json.loads(Path(settings.value.path()).read_text())["race_surface"] == "Rosenbrock"
        assert_saved_as_png(sender, sender.locator("[data-testid='stMain'] .js-plotly-plot").first,
                            "vision-explorer-optimizers.png")

        receiver = sender.context.browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        receiver.set_default_timeout(120_000)
        receiver.goto(link)  # another browser: no cookie, nothing of the sender's but the link
        wait_for_run(receiver)
        main = receiver.locator("[data-testid='stMain']")
        assert _photo_line(receiver) == PHOTO_LINE
        expect(main.get_by_text("a curved, flat-bottomed valley").first).to_be_visible()
        expect(receiver.locator("[data-testid='stSidebar']").get_by_text("A shared view")).to_be_visible()
        assert receiver.url == link  # looking changes nothing: still the shared view
        _choose(receiver, "Surface", "Himmelblau")  # the first change: the receiver's own copy
        forked = receiver.url.split("w=")[1]
        assert forked not in (own, link.split("w=")[1])
        expect(receiver.locator("[data-testid='stSidebar']").get_by_text("A shared view")).to_have_count(0)
        receiver.reload()
        wait_for_run(receiver)
        expect(main.get_by_text("Four minima of equal height").first).to_be_visible()
        sender.reload()  # the sender's workspace is as the sender left it
        wait_for_run(sender)
        expect(sender.locator("[data-testid='stMain']").get_by_text("a curved, flat-bottomed valley").first).to_be_visible()
        assert exception_boxes(sender) == [] and exception_boxes(receiver) == []


def test_a_kept_choice_that_no_longer_fits_its_widget_falls_back_to_the_default(browser, data_env):
    """A channel count kept for a layer that now has fewer channels (or an option that is gone)
    must not break the page: the widget starts from its default, the rest comes back."""
    from app.workspace.sqlite_store import SQLiteStore

    store = SQLiteStore(Path(data_env["VISION_EXPLORER_DATA"]))
    workspace = store.create_workspace()
    store.save_values(workspace, {"choice:fm_top_efficientnet_lite0_blocks.2": "100000",
                                  "choice:fm_colormap": json.dumps("Magma")})
    with running_app(free_port(), env=data_env) as (url, _, _):
        browser.goto(f"{url}/feature_maps?w={workspace}")
        wait_for_run(browser)
        main = browser.locator("[data-testid='stMain']")
        expect(main.get_by_text("channels, sorted by mean")).to_be_visible()
        assert exception_boxes(browser) == []
        # Only the value that no longer fits is forgotten: the colormap kept comes back.
        expect(main.get_by_role("combobox", name="Colormap")).to_have_value("Magma")
    kept = store.values(workspace)
    assert json.loads(kept["choice:fm_top_efficientnet_lite0_blocks.2"]) == 40  # the default: every channel
    assert json.loads(kept["choice:fm_colormap"]) == "Magma"
