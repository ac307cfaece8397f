"""Bounds what one session can keep in Streamlit's upload store.

Streamlit keeps the bytes of every file a browser PUTs to /_stcore/upload_file/<session>/<file>
in one process-wide store until the session is closed, and a closed tab's session is dropped
only when the session storage next expires it: raw requests parked about 1 GB per session,
still held minutes after the browsers closed (issue 13). Two measures:
- the picker releases an upload's bytes as soon as they are decoded (the session keeps only the
  decoded picture), so a normal session holds nothing in the store between uploads;
- the store keeps at most SESSION_UPLOAD_BYTES per session, dropping that session's oldest files
  first, so requests that no script ever reads cannot pile up.

Streamlit 1.67 has no setting for either: it builds its MemoryUploadedFileManager in
Server.__init__ and the upload routes hold that very instance. Giving the instance a subclass
whose add_file enforces the cap is the smallest change that reaches it. It happens in the first
script run of the process, which starts as soon as the first browser connects; uploads need a
connected session (others get HTTP 400), so only that first run's opening moment is uncapped.
"""

from __future__ import annotations

from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

from app.images import MAX_FILE_BYTES

SESSION_UPLOAD_BYTES = 2 * MAX_FILE_BYTES  # an upload and a camera shot, both at the size limit


class SessionCappedUploadStore(MemoryUploadedFileManager):
    """Streamlit's in-memory store, keeping at most SESSION_UPLOAD_BYTES per session."""

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        super().add_file(session_id, file)
        while True:
            with self._lock:
                stored = self.file_storage.get(session_id, {})
                if len(stored) <= 1 or sum(len(f.data) for f in stored.values()) <= SESSION_UPLOAD_BYTES:
                    return
                oldest = next(iter(stored))  # dicts keep insertion order
            self.remove_file(session_id, oldest)

    def session_bytes(self, session_id: str) -> int:
        with self._lock:
            return sum(len(f.data) for f in self.file_storage.get(session_id, {}).values())


def cap_session_uploads() -> None:
    """Installs the cap on this process's upload store (once; later calls do nothing)."""
    context = get_script_run_ctx()
    if context is not None and type(context.uploaded_file_mgr) is MemoryUploadedFileManager:
        context.uploaded_file_mgr.__class__ = SessionCappedUploadStore


def release_upload(upload: UploadedFile) -> None:
    """Drops `upload`'s bytes from the store; the widget then returns a DeletedFile."""
    context = get_script_run_ctx()
    if context is not None:
        context.uploaded_file_mgr.remove_file(context.session_id, upload.file_id)
