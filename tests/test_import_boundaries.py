"""`app/` and `pretrained/` are plain Python: a notebook can import them without Streamlit."""

import ast
import importlib.metadata
import re
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


def _requirement_names(path):
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= _requirement_names(path.parent / line[3:].strip())
        elif line:
            names.add(_normalised(re.split(r"[<>=!~\[; ]", line)[0]))
    return names


def _normalised(distribution):
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_third_party_import_is_a_listed_requirement():
    # A package installed by hand in a developer's venv once passed every local
    # run and failed CI's clean clone: each import must come from requirements.
    listed = _requirement_names(ROOT / "requirements-dev.txt")
    local = {path.name.removesuffix(".py") for path in ROOT.iterdir()}
    providers = importlib.metadata.packages_distributions()
    unlisted = {}
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in local:
                continue
            if not {_normalised(d) for d in providers.get(top, [top])} & listed:
                unlisted.setdefault(top, str(path.relative_to(ROOT)))
    assert unlisted == {}
