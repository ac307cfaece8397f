"""Where weight files are looked for and written, and the offline switch."""

from __future__ import annotations

import os
from pathlib import Path

# A folder of weight files the user fills by hand (a USB stick in a classroom).
WEIGHTS_DIR_ENV = "VISION_EXPLORER_WEIGHTS"
# Set to 1 to make the app and the tests never try the network.
OFFLINE_ENV = "VISION_EXPLORER_OFFLINE"

PROJECT_CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


def is_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def local_dirs() -> list[Path]:
    """The user's folder first, then the project's own `pretrained/checkpoints/`."""
    dirs = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(Path(os.environ[WEIGHTS_DIR_ENV]).expanduser())
    dirs.append(PROJECT_CHECKPOINTS)
    return dirs


def torch_cache_dir() -> Path:
    """torch.hub's checkpoint folder under TORCH_HOME: downloads land here too,
    where torchvision's own `weights=` loading finds them."""
    # Imported here: the settings check reads this module before the server starts, and
    # importing torch there took seconds of every start (bench/cold_start.py).
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"
