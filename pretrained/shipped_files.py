"""Reading a checkpoint this project trained and committed: verified against its SHA-256, then read
with safetensors (no pickle), tensors and metadata both."""

from __future__ import annotations

import torch

from pretrained.checksums import verify_file
from pretrained.locations import PROJECT_CHECKPOINTS


def read_shipped(filename: str, sha256: str | None, recipe: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of pretrained/checkpoints/`filename`; `recipe` is the module that writes it."""
    from safetensors import safe_open

    file = PROJECT_CHECKPOINTS / filename
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing: run `python -m {recipe}`")
    verify_file(file, sha256)
    with safe_open(str(file), framework="pt") as reader:
        return reader.metadata(), {name: reader.get_tensor(name) for name in reader.keys()}


def write_shipped(file, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Writes a checkpoint for `read_shipped`: float32 tensors, contiguous, and string metadata."""
    from safetensors.torch import save_file

    save_file({k: v.float().contiguous() for k, v in state.items()}, str(file), metadata=metadata)
