"""Choosing where tensors run: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch


def best_device(force_cpu: bool = False) -> torch.device:
    """The fastest device present, unless the user forces the CPU."""
    if not force_cpu:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """One line for the sidebar, e.g. 'NVIDIA H100 80GB HBM3 (79.1 GiB)'."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple GPU (Metal)"
    return f"CPU ({torch.get_num_threads()} threads)"
