"""`python -m pretrained.fetch`, through a registered tiny spec served from a file:// URL."""

import hashlib
import subprocess
import sys

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


def test_fetch_all_offline_skips_what_it_cannot_fetch(tmp_path):
    env = {"VISION_EXPLORER_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(tmp_path / "torch"),
           "HF_HOME": str(tmp_path / "hf"), "VISION_EXPLORER_WEIGHTS": str(tmp_path / "user")}
    result = subprocess.run([sys.executable, "-m", "pretrained.fetch", "--all"], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "efficientnet_lite0: already here (package" in result.stdout
    assert "resnet50: FAILED" in result.stderr and "offline mode" in result.stderr


def test_unknown_names_are_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        fetch.main(["resnet5"])
    assert "unknown model" in capsys.readouterr().err
