"""Server settings from the environment: defaults, ranges, and a bad value stops the start
with the variable's name and the accepted range, before the server serves anything."""

import math
import os
import subprocess
import sys

import pytest

from app.serving import settings
from tests.concurrency import at_once
from tests.conftest import ROOT

ALL = {s.name for s in settings.SETTINGS}


def test_every_setting_the_code_reads_is_declared_once():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert {"VISION_EXPLORER_CACHE_MB", "VISION_EXPLORER_MODELS_MB", "VISION_EXPLORER_DISCONNECT_GRACE_S",
            "VISION_EXPLORER_SLOTS", "VISION_EXPLORER_OFFLINE", "VISION_EXPLORER_WEIGHTS"} <= set(names)


@pytest.mark.parametrize("text, expected", [(None, 1024), ("", 1024), (" 48 ", 48), ("1048576", 1048576)])
def test_a_number_is_its_value_or_the_default(text, expected):
    environ = {} if text is None else {"VISION_EXPLORER_CACHE_MB": text}
    value = settings.CACHE_MB.read(environ)
    assert value == expected and isinstance(value, int)


def test_a_fractional_grace_period_is_kept():
    assert settings.DISCONNECT_GRACE_S.read({"VISION_EXPLORER_DISCONNECT_GRACE_S": "2.5"}) == 2.5


# The cases: each once started a server that then failed on some page.
BAD = [("VISION_EXPLORER_CACHE_MB", "-5"), ("VISION_EXPLORER_CACHE_MB", "abc"), ("VISION_EXPLORER_CACHE_MB", "inf"),
       ("VISION_EXPLORER_MODELS_MB", "0"), ("VISION_EXPLORER_DISCONNECT_GRACE_S", "nan"),
       ("VISION_EXPLORER_SLOTS", "1.5"), ("VISION_EXPLORER_SLOTS", "0"), ("VISION_EXPLORER_CACHE_MB", "1e300"),
       ("VISION_EXPLORER_OFFLINE", "maybe")]


@pytest.mark.parametrize("name, text", BAD)
def test_a_bad_value_is_named_with_its_accepted_range(name, text):
    problems = settings.setting_problems({name: text})
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}={text!r}")
    setting = next(s for s in settings.SETTINGS if s.name == name)
    expected = setting.accepted() if isinstance(setting, settings.NumberSetting) else "must be one of"
    assert expected in problems[0]


def test_the_number_ranges_hold_what_the_code_does_with_them():
    # Megabytes become bytes and slot counts become ints: the largest accepted value must stay finite.
    for setting in settings.SETTINGS:
        if isinstance(setting, settings.NumberSetting):
            assert math.isfinite(setting.maximum * 2**20) and setting.minimum <= setting.default <= setting.maximum


def test_the_weights_folder_must_exist(tmp_path):
    assert settings.setting_problems({"VISION_EXPLORER_WEIGHTS": str(tmp_path)}) == []
    missing = tmp_path / "usb-stick"
    [problem] = settings.setting_problems({"VISION_EXPLORER_WEIGHTS": str(missing)})
    assert "VISION_EXPLORER_WEIGHTS" in problem and "existing folder" in problem


def test_the_data_folder_is_made_or_refused_by_name(tmp_path):
    made = tmp_path / "new" / "data"
    assert settings.setting_problems({"VISION_EXPLORER_DATA": str(made)}) == [] and made.is_dir()
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    [problem] = settings.setting_problems({"VISION_EXPLORER_DATA": str(a_file / "data")})
    assert problem.startswith("VISION_EXPLORER_DATA=") and "can create and write" in problem
    default = settings.DATA_DIR.read({"HOME": str(tmp_path / "home")})
    assert default == tmp_path / "home" / ".local" / "share" / "vision-explorer"


def _environment(**changes):
    environ = {k: v for k, v in os.environ.items() if k not in ALL}
    environ.update(changes, VISION_EXPLORER_OFFLINE="1")
    return environ


@pytest.mark.parametrize("name, text", BAD[:5])
def test_the_readme_command_refuses_to_start_on_a_bad_setting(name, text):
    """scripts/run_app.sh exits before exec'ing the server: no port is ever opened."""
    done = subprocess.run([str(ROOT / "scripts" / "run_app.sh"), "--server.port", "1"], cwd=ROOT,
                          env=_environment(**{name: text}), capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{name}={text!r}" in done.stderr and "will not start" in done.stderr
    assert "streamlit" not in done.stdout.lower()


def test_the_settings_check_passes_on_the_defaults():
    done = subprocess.run([sys.executable, "-m", "app.serving.settings"], cwd=ROOT, env=_environment(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""


def test_the_settings_check_loads_neither_torch_nor_the_model_zoo():
    """It runs before every start of the server; importing torch there cost seconds of each."""
    probe = ("import runpy, sys; sys.argv = ['settings']\n"
             "try:\n    runpy.run_module('app.serving.settings', run_name='__main__')\n"
             "except SystemExit as done:\n    assert not done.code, done.code\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'timm', 'torchvision'}"
             " or m == 'pretrained.zoo'))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_environment(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("url, expected", [
    ("mysql://teacher:hunter2@db/explorer", "must be a URL that starts with postgresql://"),
    ("postgresql://teacher:hunter2@db/explorer?sslmode=sometimes please", "does not parse"),
])
def test_a_bad_database_url_is_named_without_its_password(url, expected):
    [problem] = settings.setting_problems({"VISION_EXPLORER_DATABASE_URL": url})
    assert problem.startswith("VISION_EXPLORER_DATABASE_URL=") and expected in problem
    assert "hunter2" not in problem and "teacher:***@db" in problem


def test_the_settings_check_refuses_a_database_it_cannot_reach_and_passes_one_it_can(postgres):
    """Before the server serves: a replica pointed at a database that does not answer stops at
    once with the reason, instead of failing on every student's first page."""
    from tests.browser import free_port
    closed = f"postgresql://teacher:hunter2@127.0.0.1:{free_port()}/explorer"
    done = subprocess.run([sys.executable, "-m", "app.serving.settings"], cwd=ROOT, capture_output=True, text=True,
                          env=_environment(VISION_EXPLORER_DATABASE_URL=closed), timeout=120)
    assert done.returncode == 2 and "cannot reach the workspaces' PostgreSQL database" in done.stderr
    assert "hunter2" not in done.stderr and "Connection refused" in done.stderr
    done = subprocess.run([sys.executable, "-m", "app.serving.settings"], cwd=ROOT, capture_output=True, text=True,
                          env=_environment(VISION_EXPLORER_DATABASE_URL=postgres.url()), timeout=120)
    assert done.returncode == 0 and "STREAMLIT_SERVER_COOKIE_SECRET is not" in done.stderr  # a warning
    done = subprocess.run([sys.executable, "-m", "app.serving.settings"], cwd=ROOT, capture_output=True, text=True,
                          env=_environment(VISION_EXPLORER_DATABASE_URL=postgres.url(),
                                           STREAMLIT_SERVER_COOKIE_SECRET="shared"), timeout=120)
    assert done.returncode == 0 and done.stderr == ""


def test_sessions_checking_the_data_folder_at_once_all_find_it_writable(tmp_path):
    """Every page run checks the settings; twenty sessions at once must not trip over each other."""
    folder, problems = tmp_path / "data", []

    def session(_) -> None:
        for _ in range(200):
            problems.extend(settings.setting_problems({"VISION_EXPLORER_DATA": str(folder)}))

    assert at_once(session, 8) == []
    assert problems == [] and list(folder.iterdir()) == []
