"""Finding a model's weight file, in a fixed order, and what that means for the user.

Order: the user's folder and `pretrained/checkpoints/`, then the framework
caches (TORCH_HOME, the Hugging Face cache), then a package that ships the
file, then a download. A copy that fails its check is passed over for the next
one; with none left the model runs untrained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from pretrained.checksums import UnverifiedFile, expected_digest, sidecar_path
from pretrained.download import Progress, StorageError, download_file
from pretrained.locations import WEIGHTS_DIR_ENV, is_offline, local_dirs, torch_cache_dir
from pretrained.spec import ModelSpec, WeightsFile

Origin = Literal["local", "cache", "package", "download"]


@dataclass(frozen=True)
class WeightsLocation:
    path: Path
    origin: Origin


class WeightsStatus(str, Enum):
    # In the order the zoo lists them: what works first.
    OFFLINE_READY = "offline-ready"  # in the user's folder, the project or a package
    CACHED = "cached"  # downloaded before, in a framework cache
    DOWNLOADABLE = "downloadable"  # not here, and the network may be used
    UNTRAINED = "untrained"  # no way to get weights: the architecture runs untrained

    @property
    def is_here(self) -> bool:
        """The weights are on this machine: the model runs trained without the network."""
        return self in (WeightsStatus.OFFLINE_READY, WeightsStatus.CACHED)


def _hf_cached_file(weights: WeightsFile) -> Path | None:
    if not weights.hf_repo:
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(weights.hf_repo, weights.hf_filename)
    return Path(found) if isinstance(found, str) else None


def weight_copies(weights: WeightsFile) -> list[WeightsLocation]:
    """Every existing copy of the file, in the search order, without reading any."""
    copies = [WeightsLocation(folder / weights.filename, "local") for folder in local_dirs()]
    copies.append(WeightsLocation(torch_cache_dir() / weights.filename, "cache"))
    hf_file = _hf_cached_file(weights)
    if hf_file is not None:
        copies.append(WeightsLocation(hf_file, "cache"))
    if weights.package_path is not None:
        try:
            copies.append(WeightsLocation(weights.package_path(), "package"))
        except ImportError:
            pass
    # os.path.isfile, not Path.is_file: an unreadable folder means "not here", not an exception.
    return [copy for copy in copies if os.path.isfile(copy.path)]


def _can_be_verified(weights: WeightsFile, location: WeightsLocation) -> bool:
    """Whether a digest is known for this copy (published, a Hugging Face blob name or a
    download's record); cheap: nothing is hashed."""
    try:
        expected_digest(location.path, weights.sha256)
    except UnverifiedFile:
        return False
    return True


def find_weights(weights: WeightsFile) -> WeightsLocation | None:
    """The first copy that can be verified, without reading it; a copy with no known
    digest is never loaded, so it does not count as present."""
    return next((copy for copy in weight_copies(weights) if _can_be_verified(weights, copy)), None)


def can_download(weights: WeightsFile) -> bool:
    return weights.url is not None and not is_offline()


def download_weights(weights: WeightsFile, progress: Progress | None = None) -> WeightsLocation:
    """Downloads into torch.hub's checkpoint folder; raises DownloadError."""
    if weights.url is None:
        raise ValueError(f"{weights.filename} has no download address")
    dest = torch_cache_dir() / weights.filename
    try:
        download_file(weights.url, dest, weights.sha256, progress)
    except StorageError as exc:
        raise StorageError(
            f"{exc}. Downloads go to $TORCH_HOME/hub/checkpoints: set TORCH_HOME to a writable folder "
            f"with room for the file, or copy the file and its {sidecar_path(dest).name} record from a "
            f"machine that fetched it into the folder named by ${WEIGHTS_DIR_ENV}"
        ) from exc
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


def weights_fingerprint(spec: ModelSpec) -> tuple[tuple[str, int, int], ...] | None:
    """Changes whenever a file that may be loaded, or its digest record, changes: a cache key
    for loaded models. Every copy counts, since a bad first copy hands over to the next."""
    if spec.weights is None:
        return None
    files = [f for copy in weight_copies(spec.weights) for f in (copy.path, sidecar_path(copy.path))]
    stats = [(str(f), f.stat()) for f in files if os.path.isfile(f)]
    return tuple((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats) or None
