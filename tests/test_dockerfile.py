"""The Dockerfile cannot be built here: lint it, and hold it to the README's install steps."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
RUN_APP = (ROOT / "scripts" / "run_app.sh").read_text()


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: scripts/run_tests.sh installs it from requirements-dev.txt")
    return found


def test_hadolint_passes():
    result = subprocess.run([_hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_steps_are_the_readme_command_s():
    setup = re.search(r"^scripts/setup_venv\.sh requirements\.txt$", RUN_APP, re.M)
    assert setup, "run_app.sh no longer sets up with scripts/setup_venv.sh requirements.txt"
    assert "RUN scripts/setup_venv.sh requirements.txt" in DOCKERFILE
    assert 'CMD ["scripts/run_app.sh"' in DOCKERFILE
    assert "./scripts/run_app.sh" in (ROOT / "README.md").read_text()


def test_weights_are_baked_then_the_image_is_offline_and_unprivileged():
    fetch = DOCKERFILE.index("pretrained.fetch --all")
    offline = DOCKERFILE.index("VISION_EXPLORER_OFFLINE=1")
    user = re.search(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert fetch < offline < user.start()
    assert user.group(1) not in {"root", "0"}
    assert "HEALTHCHECK" in DOCKERFILE and "/_stcore/health" in DOCKERFILE
    assert "EXPOSE 8501" in DOCKERFILE


def test_the_workspaces_live_on_a_volume_the_unprivileged_user_owns():
    folder = re.search(r"VISION_EXPLORER_DATA=(\S+)", DOCKERFILE).group(1)
    assert re.search(rf"^VOLUME {re.escape(folder)}$", DOCKERFILE, re.M)
    assert re.search(rf"chown (\S+) {re.escape(folder)}", DOCKERFILE).group(1) == \
        re.search(r"^USER (\S+)$", DOCKERFILE, re.M).group(1)
