"""Uploads on the real server, in Chromium (issue 13): what one session can park in Streamlit's
upload store (fault 5.9: raw PUTs to /_stcore/upload_file/<session>/<file> with the XSRF cookie
and header a browser sends, the store's size read from the server's own metrics), and crafted
file names shown as typed in the sidebar (fault 5.6), at 1280×720 and at 150 % zoom."""

import io
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest
import skimage.data
from PIL import Image

from app.images import MAX_FILE_BYTES
from components.upload_store import SESSION_UPLOAD_BYTES
from tests.browser import (
    browser_page,
    exception_boxes,
    free_port,
    running_app,
    screenshot,
    wait_for_run,
)
from tests.test_upload_names import CRAFTED

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

UPLOAD_ROUTE = re.compile(r"/_stcore/upload_file/([0-9a-f-]+)/([0-9a-f-]+)$")
METRICS_TTL_S = 5.0  # Streamlit caches the cache_memory_bytes family this long


def store_bytes(url: str) -> int:
    """The upload store's bytes, as /_stcore/metrics reports them (0 when it holds no file)."""
    time.sleep(METRICS_TTL_S + 0.5)
    with urllib.request.urlopen(f"{url}/_stcore/metrics?families=cache_memory_bytes", timeout=10) as r:
        text = r.read().decode()
    found = re.search(r'cache_memory_bytes\{cache_type="UploadedFileManager",cache=""\} (\d+)', text)
    return int(found.group(1)) if found else 0


def photo_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def app_url():
    with running_app(free_port()) as (url, _, _):
        yield url


def test_a_session_cannot_park_more_than_its_share_and_decoded_uploads_leave_the_store(app_url, tmp_path):
    with browser_page(app_url) as page:
        page.locator("[data-testid='stSidebar']").get_by_text("Upload", exact=True).click()
        wait_for_run(page)
        photo = tmp_path / "astronaut.jpg"
        photo.write_bytes(photo_jpeg())
        with page.expect_file_chooser() as chooser:
            page.locator("[data-testid='stFileUploaderDropzone']").click()
        with page.expect_request(UPLOAD_ROUTE) as put:
            chooser.value.set_files(str(photo))
        wait_for_run(page)
        session_id = UPLOAD_ROUTE.search(put.value.url).group(1)
        page.get_by_text("astronaut.jpg · 512×512").first.wait_for()
        assert store_bytes(app_url) == 0  # decoded, then released

        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")

        def raw_put(session: str, size: int) -> int:
            response = page.request.put(
                f"{app_url}/_stcore/upload_file/{session}/{uuid.uuid4()}",
                headers={"X-Xsrftoken": xsrf},
                multipart={"file": {"name": "junk.png", "mimeType": "image/png", "buffer": bytes(size)}},
            )
            return response.status

        size = MAX_FILE_BYTES - 2**20
        assert [raw_put(session_id, size) for _ in range(5)] == [204] * 5  # accepted, never read
        held = store_bytes(app_url)
        assert size * 2 <= held <= SESSION_UPLOAD_BYTES  # the newest two, not all five
        # A session id that no browser holds is refused before anything is stored.
        assert raw_put(str(uuid.uuid4()), size) == 400
        assert store_bytes(app_url) == held
        # Without the XSRF header, as a page of another site would send it: refused.
        request = urllib.request.Request(f"{app_url}/_stcore/upload_file/{session_id}/{uuid.uuid4()}",
                                         data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(request, timeout=10)
        assert exception_boxes(page) == []


def choose_file(page, name: str, data: bytes, mime: str) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("[data-testid='stFileUploaderDropzone']").click()
    chooser.value.set_files({"name": name, "mimeType": mime, "buffer": data})
    wait_for_run(page)


@pytest.mark.parametrize("scale", [1, 1.5], ids=["1280x720", "1920x1080-at-150pct"])
def test_crafted_names_are_shown_as_typed_in_the_sidebar(app_url, scale):
    with browser_page(app_url, device_scale_factor=scale) as page:
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Upload", exact=True).click()
        wait_for_run(page)
        choose_file(page, CRAFTED, photo_jpeg(), "image/jpeg")
        names = page.locator("[data-testid='stText']").filter(has_text="512×512")  # sidebar's, Home's
        expect(names).to_have_count(2)
        assert names.all_inner_texts() == [f"{CRAFTED} · 512×512"] * 2
        live = "a[href*='evil'], a[href*='x.y'], strong, b, em, .katex, h1"
        icons = "[data-testid='stIconMaterial']"
        assert names.locator(live).count() == 0 and names.locator(icons).count() == 0
        sidebar.locator("[data-testid='stText']").scroll_into_view_if_needed()
        screenshot(page, f"upload-crafted-name-{scale}x")
        broken = "__init__ [link](https://x.y) $$e$$.png"
        choose_file(page, broken, b"not a picture" * 50, "image/png")
        alert = sidebar.locator("[data-testid='stAlertContentError']")
        alert.get_by_text(f"{broken} is not a picture that can be read").wait_for()
        message = alert.locator("[data-testid='stMarkdownContainer']")
        assert message.locator(live).count() == 0 and message.locator(icons).count() == 0
        alert.scroll_into_view_if_needed()
        screenshot(page, f"upload-crafted-refused-{scale}x")
        assert names.all_inner_texts() == [f"{CRAFTED} · 512×512"] * 2  # the previous image stays
        assert exception_boxes(page) == []
