"""bench/gpu_check.py: its error measure, and its CPU-only run on a machine without a GPU."""

import subprocess
import sys

import numpy as np
import torch

from bench.gpu_check import relative_error
from tests.conftest import ROOT


def test_relative_error_is_the_largest_difference_over_the_largest_magnitude():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5)), rng.normal(size=7)
    a2, b2 = a + rng.normal(scale=1e-4, size=a.shape), b.copy()
    expected = max(np.abs(a - a2).max() / np.abs(a).max(), 0.0)
    got = relative_error({"a": torch.from_numpy(a), "b": torch.from_numpy(b)},
                         {"a": torch.from_numpy(a2), "b": torch.from_numpy(b2)})
    assert np.isclose(got, expected, rtol=1e-12)
    assert relative_error({"a": torch.ones(3)}, {"a": torch.ones(4)}) == float("inf")


def test_cpu_only_quick_run_finds_every_tiny_item_deterministic():
    result = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--cpu-only", "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("CUDA is not available (--cpu-only)")
    assert lines[-1].startswith("gpu_check: items=5 passed=5 max_rel_err=0.00e+00 "), lines[-1]
