"""Downloads a weight file with progress, checks its hash, and only then makes it visible."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from pretrained.checksums import record_digest
from pretrained.locations import OFFLINE_ENV, is_offline

# progress(bytes_done, bytes_total or None)
Progress = Callable[[int, int | None], None]

_CHUNK = 1 << 20
_HEX64 = re.compile(r'^"?([0-9a-f]{64})"?$')
# Errors of the local folder, not of the network (urllib's errors are OSErrors too).
_STORAGE_ERRNOS = {
    errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST,
}

_path_locks: dict[Path, threading.Lock] = {}
_path_locks_guard = threading.Lock()


class DownloadError(RuntimeError):
    """The file could not be fetched or was not the expected file; nothing was kept."""


class StorageError(DownloadError):
    """The destination folder cannot take the file: not writable, not a folder, or full."""


def _storage_error(dest: Path, exc: OSError) -> StorageError:
    return StorageError(f"cannot write {dest.name} into {dest.parent}: {exc.strerror or exc}")


def _lock_for(path: Path) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault(path, threading.Lock())


def _server_digest(headers) -> str | None:
    # Hugging Face sends the SHA-256 of large (LFS) files as X-Linked-Etag.
    match = _HEX64.match(headers.get("X-Linked-Etag", "") or "")
    return match.group(1) if match else None


def download_file(
    url: str,
    dest: Path,
    expected_sha256: str | None = None,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
    expected_md5: str | None = None,
) -> str:
    """Fetches `url` (https or file://) into `dest` and returns its SHA-256.

    The bytes go to a temporary file beside `dest`; it is renamed into place
    only when the length and the hash check out (SHA-256, or MD5 where that is
    all the publisher gives, as for the datasets), so an interrupted or wrong
    download never leaves a file that looks good. Its digest is recorded beside it
    before it appears, so the file is never there without its record. Two sessions
    asking for the same file wait for each other instead of writing it twice.
    Raises StorageError when the folder cannot take the file.
    """
    if is_offline():
        raise DownloadError(f"not downloading {url}: offline mode ({OFFLINE_ENV}=1)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _storage_error(dest, exc) from exc
    with _lock_for(dest):
        partial = dest.with_name(f"{dest.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            digest = _stream_to(url, partial, expected_sha256, progress, timeout_s, expected_md5)
            record_digest(dest, digest)
            os.replace(partial, dest)
        except DownloadError:
            raise
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
                raise _storage_error(dest, exc) from exc
            raise DownloadError(f"downloading {url} into {dest} failed: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        return digest


def _stream_to(
    url: str, partial: Path, expected: str | None, progress: Progress | None, timeout_s: float,
    expected_md5: str | None = None,
) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "vision-explorer"})
    digest = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(request, timeout=timeout_s) as response, partial.open("wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        expected = (expected or _server_digest(response.headers) or "").lower() or None
        done = 0
        if progress:
            progress(0, total)
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            md5.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise DownloadError(f"{url} stopped after {done:,} of {total:,} bytes; nothing was kept")
    actual = digest.hexdigest()
    if expected_md5 and md5.hexdigest() != expected_md5.lower():
        raise DownloadError(f"{url} has MD5 {md5.hexdigest()}, expected {expected_md5}; nothing was kept")
    if expected and not actual.startswith(expected):
        raise DownloadError(
            f"{url} has SHA-256 {actual[:16]}…, expected {expected[:16]}…; nothing was kept"
        )
    return actual
