"""Large items (images, checkpoints) as files named by the SHA-256 of their bytes.

A file is written to a temporary name and renamed into place, so a crash leaves either the
whole file or none; reading checks the digest again, so a damaged or truncated file is
reported as such instead of being decoded.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobMissing(LookupError):
    """A blob is absent or its bytes no longer match its name."""


def check_digest(data: bytes, sha256: str) -> bytes:
    """`data` when it is what was stored under `sha256`; BlobMissing when it was damaged."""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BlobMissing(f"the stored file {sha256[:12]}… is damaged (its bytes do not match its digest)")
    return data


class BlobFolder:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise BlobMissing(f"not a SHA-256 digest: {sha256[:80]!r}")
        return self.folder / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"the stored file {sha256[:12]}… is missing") from None
        return check_digest(data, sha256)

    def remove(self, sha256: str) -> int:
        """Deletes the blob; returns the bytes freed (0 if it was not there)."""
        path = self.path(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
            return size
        except FileNotFoundError:
            return 0
