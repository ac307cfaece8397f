"""CUDA, then MPS, then CPU; forcing the CPU always wins."""

import torch

from app.serving.devices import best_device, describe_device


def test_preference_order(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert best_device().type == "cuda"
    assert best_device(force_cpu=True).type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert best_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert best_device().type == "cpu"


def test_descriptions():
    assert describe_device(torch.device("cpu")) == f"CPU ({torch.get_num_threads()} threads)"
    assert "Apple" in describe_device(torch.device("mps"))
