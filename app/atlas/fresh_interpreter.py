"""Work that must not run in the server's process, run in a fresh interpreter instead: torch.fx
patches torch.nn.Module.__call__ for the whole process while it traces, which would break the
forward passes of every other session's thread running meanwhile. Not multiprocessing: its
children run the parent's main module again, which in a server is the app's script."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def json_lines(module: str, *args: str) -> Iterator:
    """Yields each line `python -m module args…` prints, decoded from JSON, as it is printed;
    the child is killed if the caller stops early."""
    child = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, cwd=PROJECT)
    try:
        for line in child.stdout:
            yield json.loads(line)
    finally:
        child.kill()
        child.wait()
