"""`python -m pretrained.fetch`, through a registered tiny spec served from a file:// URL."""

import dataclasses
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pretrained
from pretrained import fetch, registry
from tests.conftest import ROOT
from tests.tiny_weights import tiny_spec


@pytest.fixture
def served_tiny(weight_dirs, tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    source = tmp_path / "tiny_resnet.pth"
    torch.save(pretrained.build_model(tiny_spec()).state_dict(), source)
    spec = tiny_spec(url=source.as_uri(), sha256=hashlib.sha256(source.read_bytes()).hexdigest())
    monkeypatch.setitem(registry._SPECS, spec.name, spec)
    return spec, weight_dirs


def test_fetch_downloads_then_finds_it_there(served_tiny, capsys):
    spec, dirs = served_tiny
    assert fetch.main([spec.name]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    assert (dirs["torch"] / "tiny_resnet.pth").is_file()
    assert fetch.main([spec.name]) == 0
    assert "already here (cache" in capsys.readouterr().out


def test_a_failed_fetch_is_reported_and_fatal_unless_all(served_tiny, monkeypatch, capsys):
    spec, dirs = served_tiny
    broken = tiny_spec(url=(dirs["user"] / "missing.pth").as_uri())
    monkeypatch.setitem(registry._SPECS, spec.name, broken)
    assert fetch.main([spec.name]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_fetch_all_offline_reports_every_model_and_fails_at_the_end(tmp_path):
    env = {"VISION_EXPLORER_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(tmp_path / "torch"),
           "HF_HOME": str(tmp_path / "hf"), "VISION_EXPLORER_WEIGHTS": str(tmp_path / "user")}
    result = subprocess.run([sys.executable, "-m", "pretrained.fetch", "--all"], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "efficientnet_lite0: already here (package" in result.stdout
    assert "resnet50: FAILED" in result.stderr and "offline mode" in result.stderr
    reported = re.findall(r"^(\w+): (?:already here|FAILED)", result.stdout + result.stderr, re.M)
    assert sorted(reported) == sorted(s.name for s in pretrained.list_specs())
    assert "Traceback" not in result.stderr


def test_fetch_all_into_an_unwritable_torch_home_reports_each_model(
    served_tiny, tmp_path, monkeypatch, capsys
):
    """TORCH_HOME under a regular file: no download can land, even as root; the model already
    in the user's folder is still reported, after the failure, and the exit status says it all."""
    spec, dirs = served_tiny
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "afile" / "sub"))
    present = tiny_spec(filename="present.pth", sha256=spec.weights.sha256)
    (dirs["user"] / "present.pth").write_bytes(Path(spec.weights.url.removeprefix("file://")).read_bytes())
    present = dataclasses.replace(present, name="present")
    monkeypatch.setattr(registry, "_SPECS", {spec.name: spec, present.name: present})
    assert fetch.main(["--all"]) == 1
    out = capsys.readouterr()
    assert "present: already here (local" in out.out
    assert f"tiny_resnet: FAILED: cannot write tiny_resnet.pth into {tmp_path / 'afile' / 'sub'}" in out.err
    assert "set TORCH_HOME to a writable folder" in out.err and "1 of 2 could not be fetched" in out.err


def test_unknown_names_are_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        fetch.main(["resnet5"])
    assert "unknown model" in capsys.readouterr().err
