"""In a real browser, no page asks anything of a host other than the app's own server (an offline
classroom reaches nothing else), and Home shows the models that work without scrolling inside the zoo."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
import sklearn.datasets

from tests.browser import (
    browser_page,
    exception_boxes,
    free_port,
    running_app,
    screenshot,
    wait_for_run,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

REAL_PHOTO = Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg"
PAGES = ["Home", "Lessons", "Feature maps", "Attributions", "Architecture atlas", "Efficient convolutions",
              "Channel & spatial attention", "Receptive fields", "Dense prediction",
         "ViT & DINO attention",
         "Swin windows", "Inside the Transformer", "DETR", "Optimizer race", "Live training", "Loss landscape"]
# The zoo's grid (glide-data-grid) scrolls inside this element when its rows do not fit.
ZOO_SCROLLER = "[data-testid='stMain'] [data-testid='stDataFrame'] .dvn-scroller"


def _elsewhere(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme not in ("data", "blob") and parsed.hostname != "127.0.0.1"


def _upload(page, path: Path) -> None:
    page.locator("[data-testid='stSidebar']").get_by_text("Upload", exact=True).click()
    wait_for_run(page)
    with page.expect_file_chooser() as chooser:
        page.locator("[data-testid='stFileUploaderDropzone']").click()
    chooser.value.set_files(str(path))
    wait_for_run(page)


def _look_at_home(browser, url: str, name: str, scale: float) -> None:
    """Home at 1280×720 CSS pixels (at `scale`, as 1920×1080 at 150 % zoom), with the photo."""
    page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=scale)
    page.set_default_timeout(180_000)
    page.goto(url)
    wait_for_run(page)
    _upload(page, REAL_PHOTO)
    expect(page.locator("[data-testid='stMain']").get_by_text("flower.jpg · 640×427")).to_be_visible()
    screenshot(page, name)
    page.get_by_role("heading", name="Model zoo").evaluate("heading => heading.scrollIntoView()")
    screenshot(page, f"{name}-zoo")
    zoo = page.locator(ZOO_SCROLLER)
    overflow = zoo.evaluate("element => element.scrollHeight - element.clientHeight")
    assert overflow <= 1, f"the zoo scrolls {overflow} px inside itself"
    page.close()


def test_no_page_requests_anything_from_another_host_and_home_shows_what_works_first():
    requests: list[str] = []
    with running_app(free_port()) as (url, _, _), \
            browser_page(url, timeout_ms=180_000, on_request=lambda request: requests.append(request.url)) as page:
        icons = page.eval_on_selector_all("link[rel~='icon']", "links => links.map(link => link.href)")
        assert icons and not [icon for icon in icons if _elsewhere(icon)], icons
        for title in PAGES:
            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
            wait_for_run(page)
            expect(page.locator("[data-testid='stMain'] h1").first).to_be_visible()
            assert exception_boxes(page) == [], title
        page.wait_for_load_state("networkidle")
        assert any(urlparse(r).path.startswith("/static/") for r in requests), "no request was recorded"
        assert [r for r in requests if _elsewhere(r)] == []
        _look_at_home(page.context.browser, url, "home-1280x720", 1.0)
        _look_at_home(page.context.browser, url, "home-1920x1080-at-150", 1.5)
