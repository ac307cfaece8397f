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
from collections.abc import Iterator
from pathlib import Path

from app.workspace.blobs import BlobFolder
from app.workspace.sql_store import SqlStore

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


class SQLiteStore(SqlStore):
    ORDER = "rowid"

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

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield self._db()  # autocommit: each statement reads a consistent state

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

    # -- blobs: files named by their digest ---------------------------------------------------

    def _keep_blob(self, db: sqlite3.Connection, data: bytes) -> str:
        sha = self.blobs.put(data)  # first the file, then the row that points at it
        db.execute("INSERT INTO blobs VALUES (?, ?) ON CONFLICT DO NOTHING", (sha, len(data)))
        return sha

    def blob(self, sha256: str) -> bytes:
        return self.blobs.get(sha256)

    def _forget_blobs(self, shas: list[str]) -> None:
        # After the commit: a crash in between leaves a file nobody lists, never a row without its file.
        for sha in shas:
            self.blobs.remove(sha)

    # -- sizes and runs -----------------------------------------------------------------------

    def _total_bytes(self, db: sqlite3.Connection) -> int:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        database = sum(f.stat().st_size for f in files if f.exists())
        return database + db.execute("SELECT COALESCE(SUM(bytes), 0) FROM blobs").fetchone()[0]

    def interrupt_unfinished_runs(self) -> int:
        """Marks "interrupted" the runs still marked training whose trainer is gone: one server
        per data folder, so any trainer but this process."""
        with self._write() as db:
            return db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'training'"
                              " AND (trainer IS NULL OR trainer <> ?)", (self.trainer,)).rowcount
