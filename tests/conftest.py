"""Test setup: offline before anything imports timm or huggingface_hub, and no
connection may leave this machine (loopback stays open for the app's own server)."""

import json
import os

os.environ["VISION_EXPLORER_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
# Workspaces the tests make (every app they start, every AppTest) stay out of the user's data.
os.environ["VISION_EXPLORER_DATA"] = __import__("tempfile").mkdtemp(prefix="vision-explorer-test-data-")
# The apps the tests start keep their workspaces there, in SQLite, whatever the shell says.
os.environ.pop("VISION_EXPLORER_DATABASE_URL", None)

import base64  # noqa: E402
import ipaddress  # noqa: E402
import socket  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

_real_connect = socket.socket.connect


def _loopback_only_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests must not touch the network (tried {address})")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only_connect


@pytest.fixture(scope="session")
def postgres():
    """Debian's PostgreSQL on loopback for the whole session; each test takes a database of its own."""
    from tests.postgres_server import running_postgres
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """A workspace store's data on SQLite, then on PostgreSQL: `backend.open()` opens a store on it."""
    from tests.store_backends import BACKENDS
    with BACKENDS[request.param](tmp_path, request) as made:
        yield made


@pytest.fixture
def weight_dirs(tmp_path, monkeypatch):
    """Every place weights are looked for or written, moved into tmp_path."""
    import pretrained.locations as locations

    dirs = {
        "user": tmp_path / "user",
        "project": tmp_path / "project",
        "torch": tmp_path / "torch_home" / "hub" / "checkpoints",
        "hf": tmp_path / "hf_home" / "hub",
    }
    for folder in dirs.values():
        folder.mkdir(parents=True)
    monkeypatch.setenv("VISION_EXPLORER_WEIGHTS", str(dirs["user"]))
    monkeypatch.setattr(locations, "PROJECT_CHECKPOINTS", dirs["project"])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(dirs["hf"]))
    return dirs


def open_tab(at, key: str, label: str):
    """Selects the tab `label` of the lazy tabs `key` (only the open tab's content runs) and reruns."""
    at.session_state[key] = label
    return at.run()


def app_at(page: str | None = None, timeout_s: int = 180):
    """The whole app in AppTest, run once from its entrypoint, then switched to `page` (a path
    under pages/) if given; fails on any exception box."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout_s)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def served_app(monkeypatch):
    """The app as the server runs it: the entrypoint (workspace, presenter's bar, sidebar, the
    handling of a value a page refuses) on every run. AppTest alone, seeing a pages/ folder,
    runs a page it switched to without the entrypoint; st.navigation turns that off on the server."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def with_navigation(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", with_navigation)
    return app_at()


def stay_on_page(at):
    """Later runs stay where the last one ended: AppTest otherwise requests the page it was
    switched to on every run, as if the student clicked it again."""
    at._page_hash = ""  # noqa: SLF001 - AppTest keeps no public way to stop requesting a page
    return at


def notebook_cell(code: str) -> tuple[object, dict]:
    """Runs a page's "in a notebook" code as a notebook cell does: (the value of its last line,
    the names it left)."""
    cell = {}
    *body, last = code.strip().splitlines()
    exec("\n".join(body), cell)  # noqa: S102 - the code the page hands the student
    return eval(last, cell), cell  # noqa: S307 - a notebook shows the cell's last expression


def chart_spec(at, key: str) -> dict:
    """The plotly figure the page shows under `key`, as JSON."""
    [shown] = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == key]
    return shown


def figure_array(encoded) -> np.ndarray:
    """A figure's array as plotly writes it to JSON: typed binary in base64, or a plain list."""
    if isinstance(encoded, dict):
        flat = np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
        return flat.reshape([int(n) for n in str(encoded["shape"]).split(",")]) if "shape" in encoded else flat
    return np.array(encoded, dtype=float)


def notebook_reproduces(at, marker: str, chart_key: str) -> tuple[str, dict]:
    """Runs the page's "in a notebook" code that holds `marker` as a notebook does and checks
    that it makes the very figure the page shows under `chart_key`; (the code, the names it left)."""
    [code] = [c.value for c in at.code if marker in c.value]
    figure, cell = notebook_cell(code)
    assert json.loads(figure.to_json()) == chart_spec(at, chart_key), f"the notebook's figure is not {chart_key}"
    return code, cell


def figure_text(at) -> str:
    """Every plotly chart's specification on the page, as one searchable string."""
    return " ".join(str(chart.proto.spec) for chart in at.get("plotly_chart"))


def _deferred_jobs(at) -> list:
    from components.server_state import SHARED_JOBS

    session = at.session_state["deferred_jobs"].values() if "deferred_jobs" in at.session_state else []
    return [*SHARED_JOBS.values(), *session]


@pytest.fixture(scope="session", autouse=True)
def no_job_left_running():
    """At the end, every server-wide background job is stopped and waited for: a thread still
    inside torch when the interpreter exits aborts the process (exit status 134)."""
    yield
    from components.server_state import SHARED_JOBS

    for job in list(SHARED_JOBS.values()):
        job.stop()
        job.thread.join(timeout=300)


@pytest.fixture(autouse=True)
def settled_app_runs(request, monkeypatch):
    """In the browser, a page that shows background work (components.deferred_work) polls
    until it ends; AppTest runs no polling fragment, so each run here is repeated once the
    work it started has ended, as the browser's polling would. Tests marked `unsettled`
    see the page as the first run left it."""
    if request.node.get_closest_marker("unsettled"):
        return
    from streamlit.testing.v1 import AppTest

    original = AppTest._run

    def run(self, widget_state=None, timeout=None):
        result = original(self, widget_state, timeout)
        for _ in range(20):
            running = [job for job in _deferred_jobs(self) if job.snapshot().active]
            if not running:
                break
            for job in running:
                job.thread.join(timeout=600)
            result = original(self, self._tree.get_widget_states(), timeout)
        return result

    monkeypatch.setattr(AppTest, "_run", run)
