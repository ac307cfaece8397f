"""SHA-256 checks of weight files, computed once per file version."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20

_digest_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


class ChecksumMismatch(ValueError):
    """The file's content is not the published file."""


def sha256_of_file(path: Path) -> str:
    """The file's hex SHA-256; remembered per (path, size, mtime) so a 500 MB
    checkpoint is hashed once per process, not at every load."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        if key in _digest_memo:
            return _digest_memo[key]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    with _memo_lock:
        _digest_memo[key] = digest.hexdigest()
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    """Where a download records the digest it verified, for files with no published hash."""
    return path.with_name(path.name + ".sha256")


def expected_digest(path: Path, published: str | None) -> str | None:
    """The published digest (or prefix); else the Hugging Face cache's blob name,
    which is the file's SHA-256; else the digest a download recorded beside it."""
    if published:
        return published.lower()
    blob_name = path.resolve().name
    if _HEX64.match(blob_name):
        return blob_name
    sidecar = sidecar_path(path)
    if sidecar.is_file():
        recorded = sidecar.read_text().strip().lower()
        if _HEX64.match(recorded):
            return recorded
    return None


def verify_file(path: Path, expected: str | None) -> str:
    """Raises ChecksumMismatch unless the file's SHA-256 starts with `expected`."""
    actual = sha256_of_file(path)
    if expected and not actual.startswith(expected.lower()):
        raise ChecksumMismatch(
            f"{path} has SHA-256 {actual[:16]}…, expected {expected[:16]}…: "
            "the file is corrupt, truncated or not the published one"
        )
    return actual
