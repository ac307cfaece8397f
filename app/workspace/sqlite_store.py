"""The embedded workspace store: SQLite (the standard library's, WAL mode) and a blob folder.

    store = SQLiteStore(Path("~/.local/share/vision-explorer").expanduser())

One connection per thread: SQLite connections are not to be shared between threads, and a
training run writes its metrics from its own. WAL lets readers go on while one writer writes;
writers take the lock at the start of their transaction (BEGIN IMMEDIATE), so two tabs saving
at once queue for a moment instead of failing halfway with "database is locked".
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.workspace.blobs import BlobFolder
from app.workspace.ids import is_workspace_id, new_workspace_id
from app.workspace.store import ReadOnlyWorkspace, RunRow, StoreFull, UnknownWorkspace, room_problem

DATABASE = "workspaces.sqlite3"
BUSY_TIMEOUT_MS = 10_000

# Each entry moves the schema one version up; PRAGMA user_version records how far a file got.
# Never edit a released entry: add the next one.
MIGRATIONS = (
    """
    CREATE TABLE workspaces (id TEXT PRIMARY KEY, created REAL NOT NULL, used REAL NOT NULL,
                             read_only INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE settings (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                           key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (workspace, key));
    CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
    CREATE TABLE workspace_blobs (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                                  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                                  PRIMARY KEY (workspace, sha256));
    CREATE TABLE runs (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                       label TEXT NOT NULL, config TEXT NOT NULL, data TEXT NOT NULL,
                       status TEXT NOT NULL, problem TEXT, steps_done INTEGER NOT NULL DEFAULT 0,
                       seconds REAL NOT NULL DEFAULT 0, result TEXT, started REAL NOT NULL,
                       PRIMARY KEY (workspace, label));
    CREATE TABLE run_metrics (workspace TEXT NOT NULL, label TEXT NOT NULL, chunk TEXT NOT NULL,
                              FOREIGN KEY (workspace, label) REFERENCES runs(workspace, label) ON DELETE CASCADE);
    CREATE INDEX run_metrics_by_run ON run_metrics (workspace, label);
    CREATE TABLE run_checkpoints (workspace TEXT NOT NULL, label TEXT NOT NULL, step INTEGER NOT NULL,
                                  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                                  PRIMARY KEY (workspace, label, step),
                                  FOREIGN KEY (workspace, label) REFERENCES runs(workspace, label) ON DELETE CASCADE);
    """,
    # A run's newest resume state (optimizer and generator at its last checkpoint), one per run.
    """
    ALTER TABLE runs ADD COLUMN resume_step INTEGER;
    ALTER TABLE runs ADD COLUMN resume_sha256 TEXT REFERENCES blobs(sha256);
    """,
    # Which server process trains a run: another one's runs lost their trainer.
    """
    ALTER TABLE runs ADD COLUMN trainer TEXT;
    """,
)


class NewerSchema(RuntimeError):
    """The data folder was written by a newer Vision Explorer than this one."""


class SQLiteStore:
    def __init__(self, folder: Path, workspace_cap_bytes: int = 200 << 20, total_cap_bytes: int = 5 << 30):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.path = folder, folder / DATABASE
        self.blobs = BlobFolder(folder / "blobs")
        self.workspace_cap_bytes, self.total_cap_bytes = workspace_cap_bytes, total_cap_bytes
        self._local = threading.local()
        # This process's runs; one server per data folder, so any other trainer's process ended.
        self.trainer = secrets.token_hex(8)
        with self._write() as db:
            self._migrate(db)

    # -- connections --------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a power cut may lose the last commit, never corrupt
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def close(self) -> None:
        """Closes the calling thread's connection (each thread's closes with its thread)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise NewerSchema(f"{self.path} has schema version {version}; this Vision Explorer knows up to "
                              f"{len(MIGRATIONS)}: update it, or point VISION_EXPLORER_DATA at another folder")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

    def schema_version(self) -> int:
        return self._db().execute("PRAGMA user_version").fetchone()[0]

    # -- workspaces ---------------------------------------------------------------------------

    def create_workspace(self) -> str:
        workspace, now = new_workspace_id(), time.time()
        with self._write() as db:
            db.execute("INSERT INTO workspaces VALUES (?, ?, ?, 0)", (workspace, now, now))
        return workspace

    def copy_workspace(self, source: str, read_only: bool) -> str:
        """A new workspace with `source`'s settings, files and runs that are not training: a
        shared snapshot (read-only), or a snapshot's fork (writable, its receiver's own)."""
        copy, now = new_workspace_id(), time.time()
        with self._write() as db:
            db.execute("INSERT INTO workspaces VALUES (?, ?, ?, ?)", (copy, now, now, int(read_only)))
            db.execute("INSERT INTO settings SELECT ?, key, value FROM settings WHERE workspace = ?", (copy, source))
            db.execute("INSERT INTO workspace_blobs SELECT ?, sha256 FROM workspace_blobs WHERE workspace = ?",
                       (copy, source))
            runs = "SELECT label FROM runs WHERE workspace = ? AND status != 'training'"
            db.execute("INSERT INTO runs SELECT ?, label, config, data, status, problem, steps_done, seconds,"
                       " result, started, resume_step, resume_sha256, NULL FROM runs"
                       " WHERE workspace = ? AND status != 'training'", (copy, source))
            db.execute(f"INSERT INTO run_metrics SELECT ?, label, chunk FROM run_metrics WHERE workspace = ?"
                       f" AND label IN ({runs}) ORDER BY rowid", (copy, source, source))
            db.execute(f"INSERT INTO run_checkpoints SELECT ?, label, step, sha256 FROM run_checkpoints"
                       f" WHERE workspace = ? AND label IN ({runs})", (copy, source, source))
        return copy

    def is_read_only(self, workspace: str) -> bool:
        found = self._db().execute("SELECT read_only FROM workspaces WHERE id = ?", (workspace,)).fetchone()
        return bool(found and found[0])

    def _writable(self, db: sqlite3.Connection, workspace: str) -> None:
        found = db.execute("SELECT read_only FROM workspaces WHERE id = ?", (workspace,)).fetchone()
        if found is None:
            raise UnknownWorkspace("no workspace has this id")
        if found[0]:
            raise ReadOnlyWorkspace("a shared view cannot be changed; a change makes the receiver's own copy")

    def open_workspace(self, workspace: str) -> None:
        if not is_workspace_id(workspace):
            raise UnknownWorkspace("not a workspace id")
        with self._write() as db:
            if not db.execute("UPDATE workspaces SET used = ? WHERE id = ?", (time.time(), workspace)).rowcount:
                raise UnknownWorkspace("no workspace has this id")

    def remove_unused(self, unused_for_s: float) -> int:
        with self._write() as db:
            removed = db.execute("DELETE FROM workspaces WHERE used < ?", (time.time() - unused_for_s,)).rowcount
            orphans = self._drop_orphan_blobs(db)
        self._remove_files(orphans)
        return removed

    @staticmethod
    def _drop_orphan_blobs(db: sqlite3.Connection) -> list[str]:
        orphans = [row[0] for row in db.execute(
            "SELECT sha256 FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM workspace_blobs)"
            " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints)"
            " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE resume_sha256 IS NOT NULL)")]
        db.executemany("DELETE FROM blobs WHERE sha256 = ?", [(sha,) for sha in orphans])
        return orphans

    def _remove_files(self, orphans: list[str]) -> None:
        # After the commit: a crash in between leaves a file nobody lists, never a row without its file.
        for sha in orphans:
            self.blobs.remove(sha)

    # -- sizes and caps -----------------------------------------------------------------------

    def workspace_bytes(self, workspace: str) -> int:
        db = self._db()
        blob_bytes = db.execute(
            "SELECT COALESCE(SUM(b.bytes), 0) FROM blobs b WHERE b.sha256 IN"
            " (SELECT sha256 FROM workspace_blobs WHERE workspace = ?)", (workspace,)).fetchone()[0]
        text_bytes = db.execute(
            "SELECT (SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM settings WHERE workspace = ?)"
            " + (SELECT COALESCE(SUM(LENGTH(chunk)), 0) FROM run_metrics WHERE workspace = ?)"
            " + (SELECT COALESCE(SUM(LENGTH(config) + LENGTH(data) + COALESCE(LENGTH(result), 0)), 0)"
            "    FROM runs WHERE workspace = ?)", (workspace,) * 3).fetchone()[0]
        return blob_bytes + text_bytes

    def total_bytes(self) -> int:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        database = sum(f.stat().st_size for f in files if f.exists())
        return database + self._db().execute("SELECT COALESCE(SUM(bytes), 0) FROM blobs").fetchone()[0]

    def _check_room(self, workspace: str, adding: int) -> None:
        problem = room_problem(self.workspace_bytes(workspace) + adding, self.workspace_cap_bytes,
                               self.total_bytes() + adding, self.total_cap_bytes)
        if problem:
            raise StoreFull(problem)

    # -- blobs --------------------------------------------------------------------------------

    def put_blob(self, workspace: str, data: bytes) -> str:
        with self._write() as db:
            self._writable(db, workspace)
            # Measured inside the write lock: two tabs adding at once cannot both pass the cap.
            self._check_room(workspace, len(data))
            sha = self.blobs.put(data)  # first the file, then the rows that point at it
            db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?)", (sha, len(data)))
            db.execute("INSERT OR IGNORE INTO workspace_blobs VALUES (?, ?)", (workspace, sha))
        return sha

    def blob(self, sha256: str) -> bytes:
        return self.blobs.get(sha256)

    def release_blob(self, workspace: str, sha256: str) -> None:
        """The workspace no longer needs this blob (a replaced image); its file goes when no one does."""
        with self._write() as db:
            self._writable(db, workspace)
            db.execute("DELETE FROM workspace_blobs WHERE workspace = ? AND sha256 = ?", (workspace, sha256))
            orphans = self._drop_orphan_blobs(db)
        self._remove_files(orphans)

    # -- settings -----------------------------------------------------------------------------

    def save_values(self, workspace: str, values: dict[str, str]) -> None:
        if not values:
            return
        with self._write() as db:
            self._writable(db, workspace)
            db.executemany("INSERT INTO settings VALUES (?, ?, ?) ON CONFLICT (workspace, key)"
                           " DO UPDATE SET value = excluded.value",
                           [(workspace, key, value) for key, value in values.items()])

    def delete_values(self, workspace: str, keys: list[str]) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            db.executemany("DELETE FROM settings WHERE workspace = ? AND key = ?", [(workspace, k) for k in keys])

    def values(self, workspace: str) -> dict[str, str]:
        return dict(self._db().execute("SELECT key, value FROM settings WHERE workspace = ?", (workspace,)))

    # -- training runs ------------------------------------------------------------------------

    def begin_run(self, workspace: str, label: str, config: str, data: str) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            self._check_room(workspace, len(config) + len(data))
            db.execute("INSERT INTO runs (workspace, label, config, data, status, started, trainer)"
                       " VALUES (?, ?, ?, ?, 'training', ?, ?)", (workspace, label, config, data, time.time(),
                                                                  self.trainer))

    def resume_run(self, workspace: str, label: str, chunk: str, steps_done: int) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            if not db.execute("UPDATE runs SET status = 'training', problem = NULL, result = NULL, steps_done = ?,"
                              " trainer = ? WHERE workspace = ? AND label = ?",
                              (steps_done, self.trainer, workspace, label)).rowcount:
                raise KeyError(label)
            db.execute("DELETE FROM run_metrics WHERE workspace = ? AND label = ?", (workspace, label))
            db.execute("INSERT INTO run_metrics VALUES (?, ?, ?)", (workspace, label, chunk))
            # What was trained after that step is trained again: its checkpoints and resume state go.
            dropped = [row[0] for row in db.execute(
                "DELETE FROM run_checkpoints WHERE workspace = ? AND label = ? AND step > ? RETURNING sha256",
                (workspace, label, steps_done))]
            stale = db.execute("SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ? AND resume_step > ?",
                               (workspace, label, steps_done)).fetchone()
            if stale:
                db.execute("UPDATE runs SET resume_step = NULL, resume_sha256 = NULL WHERE workspace = ? AND label = ?",
                           (workspace, label))
                dropped.append(stale[0])
            self._release_unreferenced(db, workspace, dropped)
            orphans = self._drop_orphan_blobs(db)
        self._remove_files(orphans)

    def append_run_metrics(self, workspace: str, label: str, chunk: str, steps_done: int, seconds: float) -> None:
        with self._write() as db:
            db.execute("INSERT INTO run_metrics VALUES (?, ?, ?)", (workspace, label, chunk))
            db.execute("UPDATE runs SET steps_done = ?, seconds = ? WHERE workspace = ? AND label = ?",
                       (steps_done, seconds, workspace, label))

    def add_checkpoint(self, workspace: str, label: str, step: int, sha256: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO run_checkpoints VALUES (?, ?, ?, ?)", (workspace, label, step, sha256))

    def set_resume_point(self, workspace: str, label: str, step: int, sha256: str) -> None:
        with self._write() as db:
            old = db.execute("SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ?",
                             (workspace, label)).fetchone()
            db.execute("UPDATE runs SET resume_step = ?, resume_sha256 = ? WHERE workspace = ? AND label = ?",
                       (step, sha256, workspace, label))
            if old and old[0] and old[0] != sha256:  # only the newest is worth keeping
                self._release_unreferenced(db, workspace, [old[0]])
            orphans = self._drop_orphan_blobs(db)
        self._remove_files(orphans)

    @staticmethod
    def _release_unreferenced(db: sqlite3.Connection, workspace: str, shas: list[str]) -> None:
        """Drops the workspace's hold on blobs none of its checkpoints, resume states or images
        (in its settings) point at any more."""
        db.executemany("DELETE FROM workspace_blobs WHERE workspace = ? AND sha256 = ?"
                       " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints WHERE workspace = ?)"
                       " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE workspace = ?"
                       "                    AND resume_sha256 IS NOT NULL)",
                       [(workspace, sha, workspace, workspace) for sha in shas])

    def end_run(self, workspace: str, label: str, status: str, problem: str | None, result: str | None,
                seconds: float) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET status = ?, problem = ?, result = ?, seconds = ?"
                       " WHERE workspace = ? AND label = ?", (status, problem, result, seconds, workspace, label))

    def run_states(self, workspace: str) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self._db().execute(
            "SELECT label, status, steps_done FROM runs WHERE workspace = ? ORDER BY started, rowid", (workspace,))]

    def run(self, workspace: str, label: str) -> RunRow:
        db = self._db()
        found = db.execute("SELECT label, config, data, status, problem, steps_done, seconds, result, resume_step,"
                           " resume_sha256 FROM runs WHERE workspace = ? AND label = ?", (workspace, label)).fetchone()
        if found is None:
            raise KeyError(label)
        chunks = tuple(row[0] for row in db.execute(
            "SELECT chunk FROM run_metrics WHERE workspace = ? AND label = ? ORDER BY rowid", (workspace, label)))
        checkpoints = tuple(db.execute(
            "SELECT step, sha256 FROM run_checkpoints WHERE workspace = ? AND label = ? ORDER BY step",
            (workspace, label)))
        label, config, data, status, problem, steps_done, seconds, result, resume_step, resume_sha = found
        return RunRow(label, config, data, status, problem, steps_done, seconds, chunks, result, checkpoints,
                      None if resume_sha is None else (resume_step, resume_sha))

    def runs(self, workspace: str) -> list[RunRow]:
        return [self.run(workspace, label) for label, _, _ in self.run_states(workspace)]

    def delete_run(self, workspace: str, label: str) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            held = [row[0] for row in db.execute(
                "SELECT sha256 FROM run_checkpoints WHERE workspace = ? AND label = ? UNION"
                " SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ? AND resume_sha256 IS NOT NULL",
                (workspace, label, workspace, label))]
            db.execute("DELETE FROM runs WHERE workspace = ? AND label = ?", (workspace, label))
            self._release_unreferenced(db, workspace, held)
            orphans = self._drop_orphan_blobs(db)
        self._remove_files(orphans)

    def interrupt_unfinished_runs(self) -> int:
        with self._write() as db:
            return db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'training'"
                              " AND trainer IS NOT ?", (self.trainer,)).rowcount
