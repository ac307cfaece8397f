"""Two replicas behind one address (issue 20), everything on loopback: Debian's nginx running
the project's load-balancer file, two app processes started by the README's command, and
Debian's PostgreSQL holding the workspaces. The load bench's students go through nginx; then
the replica of a student with a photo, a choice, a finished run and a run still training is
killed (kill -9), and the student's open page reconnects to the other replica and shows them
again, the training run as interrupted.
The time from the kill to the restored page is printed (and kept in tests/artifacts): the page
reconnects by itself, and the student's next click (here at once) draws the page anew there."""

import asyncio
import os
import re
import secrets
import signal
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import sklearn.datasets

from bench.load import classroom
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, free_port, running_app
from tests.load_balancer import running_nginx
from tests.student_browser import act, choose, new_page, open_page, run_clock, upload

pytest.importorskip("playwright")

STUDENTS = 6  # three a replica on average: enough for both to serve several at once on two cores
PHOTO = Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg"
SECOND_PHOTO = PHOTO.with_name("china.jpg")
RESTORED_WITHIN_S = 120  # a deadline for a stuck test, not a speed target


def _requests(access_log: Path) -> list[tuple[int, str, str, str]]:
    """(status, the replica that answered, route cookie, "METHOD uri") per request nginx passed on."""
    found = []
    for line in access_log.read_text().splitlines():
        status, upstreams, route, method, uri = line.split("|", 4)
        found.append((int(status), upstreams.split(", ")[-1], route, f"{method} {uri}"))
    return found


def _served_by(access_log: Path, route: str) -> set[str]:
    """The replicas (host:port) that answered requests carrying this browser's route cookie."""
    return {replica for status, replica, their_route, _ in _requests(access_log) if their_route == route and status < 500}


async def _student_with_a_workspace(browser, url: str):
    """A student who uploads a photo, chooses a surface on the optimizer race, trains a short run
    and starts a long one; returns the page (left open on Live training) and its route cookie."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await new_page(context)
    await page.goto(url)
    await page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stRadio']")
    await act(page, lambda: page.locator("[data-testid='stSidebar']").get_by_text("Upload", exact=True).click())
    await upload(page, PHOTO)
    await open_page(page, "Optimizer race")
    await choose(page, "Surface", "Rosenbrock")
    await open_page(page, "Live training")
    await choose(page, "Dataset", "Digits")
    epochs = page.locator("[data-testid='stMain']").get_by_label("Epochs")
    await epochs.fill("2")
    await act(page, lambda: epochs.press("Enter"))
    main = page.locator("[data-testid='stMain']")
    await act(page, lambda: main.get_by_role("button", name="Start", exact=True).click())
    await main.get_by_text("run 1: ").filter(has_text="finished").first.wait_for(timeout=180_000)
    await epochs.fill("200")  # still training when its replica is killed
    await act(page, lambda: epochs.press("Enter"))
    await act(page, lambda: main.get_by_role("button", name="Start", exact=True).click())
    await main.get_by_text(re.compile(r"run 2: .*running, epoch")).first.wait_for(timeout=180_000)
    [route] = [c["value"] for c in await context.cookies() if c["name"] == "vision_explorer_route"]
    return page, route


async def _restored(page) -> None:
    """The photo in the sidebar, the finished run, and the run that was training on the killed
    replica, now interrupted (its trainer is gone) and ready to resume, on a page drawn by a
    new session."""
    main = page.locator("[data-testid='stMain']")
    await page.locator("[data-testid='stSidebar']").get_by_text(f"{PHOTO.name} · ").wait_for()
    await main.get_by_text("run 1: ").filter(has_text="finished").first.wait_for()
    await main.get_by_text(re.compile(r"run 2\b.* was interrupted at epoch")).wait_for()


async def _department(url: str, first_pid: int, replicas: dict[str, int], access_log: Path, folder: Path) -> dict:
    from playwright.async_api import async_playwright

    # As the load bench does on one server, one student first goes alone to each replica (the
    # models load, and each CNN is traced once, as every server does on its first visitors).
    for index, (replica, pid) in enumerate(replicas.items()):
        (folder / f"warm-{index}").mkdir()
        warm, _, _ = await classroom(f"http://{replica}", pid, 1, folder / f"warm-{index}")
        assert warm.errors == [] and warm.leaks == [], warm.errors + warm.leaks
    report, _, _ = await classroom(url, first_pid, STUDENTS, folder)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page, route = await _student_with_a_workspace(browser, url)
        try:
            [home] = _served_by(access_log, route)
            clock = run_clock(page)
            old_session = clock.session_id
            reconnected = []
            page.on("websocket", lambda _: reconnected.append(time.monotonic()))
            killed = time.monotonic()
            os.killpg(replicas[home], signal.SIGKILL)
            # The page notices the closed WebSocket and opens another; nginx sends it to the replica
            # that lives. (Streamlit's page reruns nothing on a reconnect while idle: the student's
            # next click does, on a new session there.)
            deadline = killed + RESTORED_WITHIN_S
            while not reconnected:
                assert time.monotonic() < deadline, "the page did not reconnect"
                await asyncio.sleep(0.05)
            await open_page(page, "Live training")
            assert clock.session_id != old_session, "the page's session did not move to the other replica"
            await _restored(page)
            restored_s = time.monotonic() - killed
            await page.screenshot(path=str(ARTIFACTS / "replicas-restored-after-kill.png"))
            await open_page(page, "Optimizer race")  # the choice came back with the workspace
            await page.locator("[data-testid='stMain']").get_by_text("a curved, flat-bottomed valley").first.wait_for()
            # An upload to the replica that lives, with the XSRF cookie the killed one signed.
            await upload(page, SECOND_PHOTO)
        except Exception:
            await page.screenshot(path=str(ARTIFACTS / "replicas-failed.png"), full_page=True)
            raise
        exceptions = await page.locator("[data-testid='stException']").all_inner_texts()
        await browser.close()
    return {"report": report, "home": home, "route": route, "reconnected_s": reconnected[0] - killed,
            "restored_s": restored_s,
            "exceptions": exceptions}


@pytest.mark.timeout(1800)
def test_two_replicas_behind_nginx_share_the_workspaces_and_a_killed_one_s_students_carry_on(postgres):
    # Not pytest's tmp_path: another pytest session on the machine may prune it under a live server.
    with tempfile.TemporaryDirectory(prefix="vision-explorer-replicas-") as folder:
        _department_on_loopback(postgres, Path(folder))


def _department_on_loopback(postgres, tmp_path: Path) -> None:
    database = postgres.new_database()
    # Shared by the replicas: Streamlit signs its XSRF cookie with it, and an upload after a
    # fail-over carries the cookie the first replica made.
    secret = secrets.token_hex(32)
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        pids = {}
        for index, port in enumerate(ports):
            env = {"VISION_EXPLORER_DATABASE_URL": database, "STREAMLIT_SERVER_COOKIE_SECRET": secret,
                   "VISION_EXPLORER_DATA": str(tmp_path / f"replica-{index}")}  # nothing shared on disk
            _, _, pid = stack.enter_context(running_app(port, env=env))
            pids[f"127.0.0.1:{port}"] = pid
        url, access_log = stack.enter_context(running_nginx(ports, tmp_path / "nginx"))
        found = asyncio.run(_department(url, next(iter(pids.values())), pids, access_log, tmp_path))

    report = found["report"]
    line = (f"replicas: students={STUDENTS} errors={len(report.errors)} leaks={len(report.leaks)} "
            f"kill_to_reconnected_s={found['reconnected_s']:.2f} kill_to_restored_page_s={found['restored_s']:.2f}")
    print(line)
    (ARTIFACTS / "replicas-recovery.txt").write_text(line + "\n")
    assert report.errors == [] and report.leaks == []
    requests = _requests(access_log)
    uploads = [r for r in requests if r[3].startswith("PUT /_stcore/upload_file")]
    assert len(uploads) == STUDENTS + 2 and all(status == 204 for status, *_ in uploads), uploads
    # Nothing refused (a 403 is a replica refusing another's cookie, a 400 an upload for a session
    # it does not hold); 502s are the killed replica's. A picture or figure file replaced by a
    # newer run before the page fetched it is Streamlit's own 404, on one server as on two.
    assert [r for r in requests if 400 <= r[0] < 500 and not r[3].startswith("GET /media/")] == []
    # Each browser stayed on one replica; only the killed replica's student moved.
    routes = {route for _, _, route, _ in requests} - {found["route"]}
    assert routes and all(len(_served_by(access_log, route)) == 1 for route in routes)
    served = {replica for _, replica, _, _ in requests}
    assert served == set(pids), "the students did not spread over both replicas"
    # After the kill the student's requests went to the replica that lives.
    assert _served_by(access_log, found["route"]) == set(pids)
    assert found["exceptions"] == []
    assert re.fullmatch(r"127\.0\.0\.1:\d+", found["home"])
