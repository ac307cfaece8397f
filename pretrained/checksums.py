"""SHA-256 checks of weight files, computed once per file version, and the digest records
that downloads leave beside files whose publisher gives no digest."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20

_digest_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


class ChecksumMismatch(ValueError):
    """The file's content is not the published file."""


class UnverifiedFile(ValueError):
    """No digest is known for the file, so nothing says its content is the published one."""


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


def record_digest(path: Path, digest: str) -> None:
    """Writes `digest` into the file's record atomically (temporary file, fsync, rename):
    a full disk or a crash leaves the old record or none, never an empty one."""
    record = sidecar_path(path)
    temporary = record.with_name(f"{record.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with temporary.open("w") as f:
            f.write(digest + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, record)
    finally:
        temporary.unlink(missing_ok=True)


def expected_digest(path: Path, published: str | None) -> str:
    """The published digest (or prefix); else the Hugging Face cache's blob name,
    which is the file's SHA-256; else the digest a download recorded beside it.
    Raises UnverifiedFile when there is none, or the record is empty or malformed."""
    if published:
        return published.lower()
    blob_name = path.resolve().name
    if _HEX64.match(blob_name):
        return blob_name
    record = sidecar_path(path)
    try:
        recorded = record.read_text(errors="replace").strip().lower()
    except FileNotFoundError:
        raise UnverifiedFile(
            f"{path} has no known SHA-256: none is published for it and no verified download recorded "
            f"one in {record.name}"
        ) from None
    except OSError as exc:
        raise UnverifiedFile(f"{path}'s digest record {record.name} cannot be read: {exc.strerror}") from exc
    if not _HEX64.match(recorded):
        raise UnverifiedFile(
            f"{path}'s digest record {record.name} is empty or malformed "
            "(a write cut short, e.g. by a full disk)"
        )
    return recorded


def verify_file(path: Path, expected: str) -> str:
    """Raises ChecksumMismatch unless the file's SHA-256 starts with `expected` (never empty)."""
    if not expected:
        raise UnverifiedFile(f"{path}: no digest to check it against")
    actual = sha256_of_file(path)
    if not actual.startswith(expected.lower()):
        raise ChecksumMismatch(
            f"{path} has SHA-256 {actual[:16]}…, expected {expected[:16]}…: "
            "the file is corrupt, truncated or not the published one"
        )
    return actual
