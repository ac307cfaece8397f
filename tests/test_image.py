"""The image, built from the Dockerfile as a user would (only the base swapped for a local Debian
bookworm made with debootstrap), serves the app: its configuration keeps the HEALTHCHECK, its
command answers the health check and shows Home's cat with its top-5 in Chromium, as its own
unprivileged user, downloading nothing. See tests/image_build.py for how it runs without Docker."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, browser_page, exception_boxes, free_port, screenshot, wait_healthy
from tests.conftest import ROOT
from tests.image_build import (
    BASE_IMAGE,
    IMAGE,
    PodmanStore,
    container_env,
    container_root,
    copy_working_tree,
    credentials,
    debootstrap_base,
    file_listing,
    host_pip_setup,
    image_user,
    in_container,
    process_tree,
    remove_tree,
)

pytestmark = pytest.mark.timeout(1800)  # debootstrap, a build that installs torch, a first page

DOCKERFILE = (ROOT / "Dockerfile").read_text()
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK = "localhost,127.0.0.1,::1"


@contextmanager
def phase(name: str):
    """Reports how long a phase took (printed, and kept in tests/artifacts/image-timings.txt)."""
    start = time.monotonic()
    yield
    line = f"image test: {name} took {time.monotonic() - start:.0f} s"
    print(line, flush=True)
    with (ARTIFACTS / "image-timings.txt").open("a") as timings:
        timings.write(line + "\n")


def _required_tools() -> None:
    missing = [tool for tool in ("podman", "debootstrap")
               if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    assert not missing, f"{' and '.join(missing)} not found: scripts/run_tests.sh installs them with apt"
    assert os.geteuid() == 0, "building and serving the image needs root (debootstrap, mount, chroot)"


@pytest.fixture(scope="module")
def image():
    """The image built in a podman storage of its own, under one temporary folder removed at the end."""
    _required_tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "image-timings.txt").write_text("")
    folder = Path(tempfile.mkdtemp(prefix="vision-explorer-image-"))
    store = PodmanStore(folder / "podman")
    try:
        with phase("debootstrap of the base"):
            debootstrap_base(folder / "base", ARTIFACTS / "image-debootstrap.log")
        with phase("podman import of the base"):
            store.import_root(folder / "base", BASE_IMAGE)
        copy_working_tree(context := folder / "context")
        with phase("podman build of the Dockerfile"):
            store("build", "--isolation", "chroot", "--format", "docker", "--pull=never",
                  "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", *host_pip_setup(folder),
                  "--tag", IMAGE, str(context), log=ARTIFACTS / "image-build.log")
        yield SimpleNamespace(store=store, config=store.config(IMAGE), folder=folder)
    finally:
        store.close()
        remove_tree(folder)
    assert not folder.exists() and not [p for p in store.created if os.path.lexists(p)], "left behind"


def _on_loopback(command: list[str], port: int) -> list[str]:
    """The image's command, serving on `port` of loopback instead of 8501 on every interface."""
    chosen = {"--server.port": str(port), "--server.address": "127.0.0.1"}
    served = []
    for arg in command:
        option = arg.split("=")[0]
        served.append(f"{option}={chosen[option]}" if option in chosen else arg)
    assert served.count(f"--server.port={port}") == 1, f"the CMD takes no --server.port=…: {command}"
    return served


@pytest.fixture(scope="module")
def served(image):
    """The image's command running as a container would run it, every proxy pointing at a closed
    port so that any download fails loudly; until the module's tests are done."""
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"
    log = (ARTIFACTS / "image-server.log").open("w")
    with image.store.mounted(IMAGE) as image_root, \
            container_root(image_root, image.config, image.folder / "container") as root:
        env = container_env(root, image.config, **dict.fromkeys(PROXY_VARIABLES, closed),
                            NO_PROXY=LOOPBACK, no_proxy=LOOPBACK)
        server = in_container(root, image.config, _on_loopback(image.config["Cmd"], port), env,
                              stdout=log, stderr=subprocess.STDOUT)
        try:
            with phase("serve until the health check answers"):
                wait_healthy(port, 300, server)
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, pid=server.pid, root=root,
                                  env=env, upper=image.folder / "container" / "upper", config=image.config)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(30)
            log.close()


def test_the_image_keeps_the_dockerfile_s_healthcheck_user_port_and_command(image):
    config = image.config
    healthcheck = re.search(r"^HEALTHCHECK (.*?)\\\n\s*CMD (\[.*\])$", DOCKERFILE, re.M)
    timings = dict(re.findall(r"--([\w-]+)=(\d+)s", healthcheck.group(1)))
    assert config["Healthcheck"] is not None, "no HEALTHCHECK in the image (built without --format docker?)"
    assert config["Healthcheck"]["Test"] == ["CMD", *json.loads(healthcheck.group(2))]
    assert config["Healthcheck"]["Test"][-1].endswith("/_stcore/health")
    assert {key: config["Healthcheck"][key] for key in ("Interval", "Timeout", "StartPeriod")} == {
        "Interval": int(timings["interval"]) * 10**9, "Timeout": int(timings["timeout"]) * 10**9,
        "StartPeriod": int(timings["start-period"]) * 10**9}
    assert config["User"] == "10001"
    assert "8501/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M).group(1))
    assert config["Cmd"][0] == "scripts/run_app.sh"
    assert config["WorkingDir"] == "/app" and "/data" in config["Volumes"]


def test_the_command_answers_the_health_check_as_the_image_s_user_not_root(served):
    with urllib.request.urlopen(f"{served.url}/_stcore/health", timeout=10) as answer:
        assert answer.read().decode().strip() == "ok"
    # The image's own health check (its curl, as its user), on the port it serves here.
    test = [arg.replace(":8501/", f":{served.port}/") for arg in served.config["Healthcheck"]["Test"][1:]]
    check = in_container(served.root, served.config, test, served.env, stdout=subprocess.PIPE, text=True)
    assert check.communicate(timeout=60)[0].strip() == "ok" and check.returncode == 0
    uid, gid, _ = image_user(served.root, served.config)
    assert uid == 10001
    for pid in process_tree(served.pid):
        ids = credentials(pid)
        assert ids["Uid"] == [uid] * 4 and ids["Gid"] == [gid] * 4 and ids["Groups"] == [], (pid, ids)
        assert os.readlink(f"/proc/{pid}/root") == str(served.root)  # inside the image's files
    # run_app.sh set up nothing and exec'd the server in its own process, in the image's WorkingDir.
    assert Path(f"/proc/{served.pid}/cmdline").read_text().split("\0")[:3] == [
        ".venv/bin/python", "-m", "components.server_launch"]
    assert os.readlink(f"/proc/{served.pid}/cwd") == f"{served.root}{served.config['WorkingDir']}"


def _elsewhere(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme not in ("data", "blob") and parsed.hostname != "127.0.0.1"


def _cat_top5_here() -> list[str]:
    """Home's top-5 for the sample cat, computed by this checkout with this machine's install:
    the oracle for what the image shows."""
    import pretrained
    from app.images import decode_image
    from app.predictions import classify
    from app.preprocess import preprocess
    from app.samples import DEFAULT_SAMPLE, sample_bytes

    loaded = pretrained.load_model("efficientnet_lite0")  # pages/home.py's FIRST_TASTE_MODEL
    batch = preprocess(decode_image(sample_bytes(DEFAULT_SAMPLE)).rgb, loaded.spec.preprocessing)
    return [p.label for p in classify(loaded.model, batch, pretrained.class_names(loaded.spec))]


def test_home_shows_the_cat_s_top5_in_chromium_and_nothing_is_downloaded(served):
    expected = _cat_top5_here()
    watched = [served.env["TORCH_HOME"], served.env["HF_HOME"], f"{served.config['WorkingDir']}/.venv"]
    before = {folder: file_listing(served.root / folder.lstrip("/")) for folder in watched}
    requests: list[str] = []
    with phase("Home's first run in Chromium"), browser_page(
            served.url, 1280, 720, timeout_ms=180_000, on_request=lambda r: requests.append(r.url)) as page:
        main = page.locator("[data-testid='stMain']")
        expect(main.get_by_text("Cat (Chelsea) · 451×300")).to_be_visible()
        chart = main.locator(".js-plotly-plot")
        expect(chart.get_by_text("tiger cat")).to_be_visible()
        ticks = chart.locator(".ytick text").all()
        assert [t.text_content() for t in sorted(ticks, key=lambda t: t.bounding_box()["y"])] == expected
        expect(main.get_by_text("UNTRAINED WEIGHTS")).to_have_count(0)  # the shipped EfficientNet-Lite0
        assert exception_boxes(page) == []
        screenshot(page, "image-home-1280x720")
        page.wait_for_load_state("networkidle")
    assert requests and [r for r in requests if _elsewhere(r)] == []
    assert {folder: file_listing(served.root / folder.lstrip("/")) for folder in watched} == before
    # Nothing else was written anywhere in the image's files (the container's writable layer) but
    # the /etc/hosts written for it and matplotlib's list of the fonts on disk, made on first
    # import: no weight, package, pip cache or other ~/.cache of the user.
    made_here = ["etc/hosts", f"{served.env['HOME'].lstrip('/')}/.cache/matplotlib/fontlist-v*.json"]
    written = file_listing(served.upper)
    assert [name for name in written if not any(fnmatch(name, made) for made in made_here)] == [], written
    log = (ARTIFACTS / "image-server.log").read_text()
    assert "Traceback" not in log and "proxy" not in log.lower(), log
