"""Finding a model's weight file, in a fixed order, and what that means for the user.

Order: the user's folder and `pretrained/checkpoints/`, then the framework
caches (TORCH_HOME, the Hugging Face cache), then a package that ships the
file, then a download. With none of them the model runs untrained.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from pretrained.download import Progress, download_file
from pretrained.locations import is_offline, local_dirs, torch_cache_dir
from pretrained.spec import ModelSpec, WeightsFile

Origin = Literal["local", "cache", "package", "download"]


@dataclass(frozen=True)
class WeightsLocation:
    path: Path
    origin: Origin


class WeightsStatus(str, Enum):
    OFFLINE_READY = "offline-ready"  # in the user's folder, the project or a package
    CACHED = "cached"  # downloaded before, in a framework cache
    DOWNLOADABLE = "downloadable"  # not here, and the network may be used
    UNTRAINED = "untrained"  # no way to get weights: the architecture runs untrained


def _hf_cached_file(weights: WeightsFile) -> Path | None:
    if not weights.hf_repo:
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(weights.hf_repo, weights.hf_filename)
    return Path(found) if isinstance(found, str) else None


def find_weights(weights: WeightsFile) -> WeightsLocation | None:
    """The first existing copy of the file, without reading it."""
    for folder in local_dirs():
        if (folder / weights.filename).is_file():
            return WeightsLocation(folder / weights.filename, "local")
    cached = torch_cache_dir() / weights.filename
    if cached.is_file():
        return WeightsLocation(cached, "cache")
    hf_file = _hf_cached_file(weights)
    if hf_file is not None and hf_file.is_file():
        return WeightsLocation(hf_file, "cache")
    if weights.package_path is not None:
        try:
            packaged = weights.package_path()
        except ImportError:
            packaged = None
        if packaged is not None and packaged.is_file():
            return WeightsLocation(packaged, "package")
    return None


def can_download(weights: WeightsFile) -> bool:
    return weights.url is not None and not is_offline()


def download_weights(weights: WeightsFile, progress: Progress | None = None) -> WeightsLocation:
    """Downloads into torch.hub's checkpoint folder; raises DownloadError."""
    if weights.url is None:
        raise ValueError(f"{weights.filename} has no download address")
    dest = torch_cache_dir() / weights.filename
    download_file(weights.url, dest, weights.sha256, progress)
    return WeightsLocation(dest, "download")


def weights_status(spec: ModelSpec) -> WeightsStatus:
    """What the zoo table shows; cheap (file existence only, no hashing)."""
    if spec.weights is None:
        return WeightsStatus.UNTRAINED
    found = find_weights(spec.weights)
    if found is not None:
        return WeightsStatus.CACHED if found.origin == "cache" else WeightsStatus.OFFLINE_READY
    if can_download(spec.weights):
        return WeightsStatus.DOWNLOADABLE
    return WeightsStatus.UNTRAINED


def weights_fingerprint(spec: ModelSpec) -> tuple[str, int, int] | None:
    """Changes whenever the file that would be loaded changes: a cache key for loaded models."""
    if spec.weights is None:
        return None
    found = find_weights(spec.weights)
    if found is None:
        return None
    stat = found.path.stat()
    return str(found.path), stat.st_size, stat.st_mtime_ns
