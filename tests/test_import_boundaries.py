"""`app/` and `pretrained/` are plain Python: a notebook can import them without Streamlit."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PLAIN_PACKAGES = ("app", "pretrained")


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("package", PLAIN_PACKAGES)
def test_no_file_imports_streamlit(package):
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if any(m == "streamlit" or m.startswith("streamlit.") for m in _imported_modules(path))
    ]
    assert offenders == []


def test_importing_every_module_does_not_load_streamlit():
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PLAIN_PACKAGES
        for path in (ROOT / package).rglob("*.py")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name.removesuffix('.__init__'))\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
