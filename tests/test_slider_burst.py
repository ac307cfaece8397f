"""Issue 13, fault 5.4: 200 quick presses of the right arrow on the feature-map page's depth
slider ended the session with "Connection error ... Cached ForwardMsg MISS" (streamlit#11357)
and left the slider on a value other than the last press. In the real app and Chromium: the
session survives, and the slider and the layer the page draws are the last one pressed."""

import time

import pytest

import pretrained
from tests.browser import (
    browser_page,
    exception_boxes,
    free_port,
    running_app,
    screenshot,
    wait_for_run,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect

PRESSES = 200
MODEL = "efficientnet_lite0"  # the page's default model
LAYERS = pretrained.get_spec(MODEL).layers
QUIET_S = 1.5  # the page is settled once no script run has been going for this long


@pytest.fixture(scope="module")
def page():
    with running_app(free_port()) as (url, _, _), browser_page(url, 1280, 900) as page:
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Feature maps").click()
        wait_for_run(page)
        yield page


def settle(page, timeout_s: float = 120) -> None:
    """Until the page has not been running a script for QUIET_S seconds: a burst queues
    reruns, so one finished run is not the end of it. Polled, so it holds at any speed."""
    quiet_since, start = None, time.monotonic()
    while time.monotonic() - start < timeout_s:
        running = page.locator("[data-testid='stApp'][data-test-script-state='running']").count() > 0
        now = time.monotonic()
        quiet_since = None if running else (quiet_since or now)
        if quiet_since is not None and now - quiet_since >= QUIET_S:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the page kept running scripts for {timeout_s} s")


def depth_thumb(page):
    slider = page.locator("[data-testid='stMain'] [data-testid='stSlider']").filter(has_text="Depth")
    return slider.get_by_role("slider")


def shown_layer(page) -> str:
    """The layer the page drew: the layer picker's box holds 'name · shape · RF' of the layer
    the server computed everything below from."""
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text="Layer")
    return box.locator("input").input_value().split(" · ")[0]


def assert_session_alive(page) -> None:
    body = page.locator("body").inner_text()
    assert "Connection error" not in body and "ForwardMsg" not in body, body[-500:]
    assert exception_boxes(page) == []


def test_two_hundred_quick_presses_keep_the_session_and_end_on_the_last_layer(page):
    thumb = depth_thumb(page)
    thumb.focus()
    start = LAYERS.index(thumb.get_attribute("aria-valuetext"))
    shown = []  # the thumb's layer after each press
    for _ in range(PRESSES):
        page.keyboard.press("ArrowRight")
        shown.append(thumb.get_attribute("aria-valuetext"))
    # Each press moves one layer deeper until the last: the server never sends the thumb back.
    assert shown == [LAYERS[min(start + n, len(LAYERS) - 1)] for n in range(1, PRESSES + 1)]
    settle(page)
    screenshot(page, "slider-burst")
    assert_session_alive(page)
    expect(thumb).to_have_attribute("aria-valuetext", LAYERS[-1])
    assert shown_layer(page) == LAYERS[-1]
    # The last layer has no spatial extent: the page says so by its name.
    expect(page.get_by_text(f"{LAYERS[-1]} has no spatial extent")).to_be_visible()


def test_the_session_still_answers_after_the_burst(page):
    thumb = depth_thumb(page)
    thumb.focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    assert_session_alive(page)
    expect(thumb).to_have_attribute("aria-valuetext", LAYERS[-2])
    assert shown_layer(page) == LAYERS[-2]
