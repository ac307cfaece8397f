"""No unused imports or variables, no syntax errors anywhere in the project (ruff's pyflakes rules)."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_ruff_finds_no_dead_code():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--select", "F,E9,W6", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
