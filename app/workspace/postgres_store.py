"""The workspace store on PostgreSQL, for several replicas of the server behind one address.

    store = PostgresStore("postgresql://explorer:…@db:5432/explorer")

Everything is in the database, blobs included (images and checkpoints as BYTEA, named by
their SHA-256): a student whom the load balancer sends to another replica finds the same
workspace, and no replica needs a disk of its own. Connections come from a pool (psycopg's),
since Streamlit runs every page run in a thread of its own.

Which runs are still training: each replica holds a session-level advisory lock on a
connection of its own for as long as it lives. A killed replica's connection closes with its
process and PostgreSQL drops the lock at once, so another replica sees its runs as
interrupted within a page run, not after a heartbeat timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator

import psycopg
from psycopg_pool import ConnectionPool

from app.workspace.blobs import BlobMissing, check_digest
from app.workspace.sql_store import SqlStore

# Advisory locks are one namespace for the whole cluster: ours carry this first key ("VEXP").
LOCK_SPACE = 0x56455850
MIGRATION_LOCK = 0  # second key of the lock that serialises schema changes between replicas
ROOM_LOCK = 1  # second key of the lock that serialises writes that check the caps
POOL_MAX = 8  # connections per replica; page runs hold one for a query or two
CONNECT_TIMEOUT_S = 10

# Each entry moves the schema one version up; the table schema_version records how far a
# database got. Never edit a released entry: add the next one.
MIGRATIONS = (
    """
    CREATE TABLE workspaces (id TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL,
                             used DOUBLE PRECISION NOT NULL, read_only BOOLEAN NOT NULL DEFAULT FALSE);
    CREATE TABLE settings (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                           key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (workspace, key));
    CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, bytes BIGINT NOT NULL, data BYTEA NOT NULL);
    -- Pictures and weights hardly compress: stored out of line without spending CPU on trying.
    ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE TABLE workspace_blobs (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                                  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                                  PRIMARY KEY (workspace, sha256));
    CREATE TABLE runs (workspace TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                       label TEXT NOT NULL, config TEXT NOT NULL, data TEXT NOT NULL,
                       status TEXT NOT NULL, problem TEXT, steps_done INTEGER NOT NULL DEFAULT 0,
                       seconds DOUBLE PRECISION NOT NULL DEFAULT 0, result TEXT,
                       started DOUBLE PRECISION NOT NULL, resume_step INTEGER,
                       resume_sha256 TEXT REFERENCES blobs(sha256), trainer BIGINT,
                       number BIGSERIAL, PRIMARY KEY (workspace, label));
    CREATE TABLE run_metrics (number BIGSERIAL PRIMARY KEY, workspace TEXT NOT NULL, label TEXT NOT NULL,
                              chunk TEXT NOT NULL,
                              FOREIGN KEY (workspace, label) REFERENCES runs(workspace, label) ON DELETE CASCADE);
    CREATE INDEX run_metrics_by_run ON run_metrics (workspace, label);
    CREATE TABLE run_checkpoints (workspace TEXT NOT NULL, label TEXT NOT NULL, step INTEGER NOT NULL,
                                  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
                                  PRIMARY KEY (workspace, label, step),
                                  FOREIGN KEY (workspace, label) REFERENCES runs(workspace, label) ON DELETE CASCADE);
    CREATE INDEX runs_training ON runs (status) WHERE status = 'training';
    """,
)
TABLES = ("workspaces", "settings", "blobs", "workspace_blobs", "runs", "run_metrics", "run_checkpoints")


class NewerSchema(RuntimeError):
    """The database was written by a newer Vision Explorer than this one."""


class PostgresStore(SqlStore):
    ORDER = "number"

    def __init__(self, url: str, workspace_cap_bytes: int = 200 << 20, total_cap_bytes: int = 5 << 30):
        self.workspace_cap_bytes, self.total_cap_bytes = workspace_cap_bytes, total_cap_bytes
        # check: a connection the database dropped (a restart, a failover) is replaced, not handed out.
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX, open=True, timeout=CONNECT_TIMEOUT_S,
                                    kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
                                    check=ConnectionPool.check_connection)
        try:
            with self._write() as db:
                db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, MIGRATION_LOCK))
                self._migrate(db)
            self.trainer, self._alive = self._hold_liveness_lock(url)
        except BaseException:
            self._pool.close()
            raise

    # -- connections --------------------------------------------------------------------------

    @staticmethod
    def _hold_liveness_lock(url: str) -> tuple[int, psycopg.Connection]:
        """A random id for this replica, locked on a connection kept open while it lives."""
        alive = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        while True:
            trainer = secrets.randbits(31)
            if alive.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, trainer)).fetchone()[0]:
                return trainer, alive

    def close(self) -> None:
        """Ends this replica: its runs still marked training become another's to interrupt."""
        self._alive.close()
        self._pool.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        with self._pool.connection() as db:  # commits at the end of the block, rolls back on an error
            yield db

    _read = _write

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _migrate(self, db: psycopg.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        found = db.execute("SELECT version FROM schema_version").fetchone()
        version = found[0] if found else 0
        if found is None:
            db.execute("INSERT INTO schema_version VALUES (0)")
        if version > len(MIGRATIONS):
            raise NewerSchema(f"the database has schema version {version}; this Vision Explorer knows up to "
                              f"{len(MIGRATIONS)}: update it, or point VISION_EXPLORER_DATABASE_URL at another "
                              f"database")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.execute(script)
            db.execute("UPDATE schema_version SET version = %s", (number,))

    def schema_version(self) -> int:
        with self._read() as db:
            return db.execute("SELECT version FROM schema_version").fetchone()[0]

    # -- blobs: rows, so that every replica reads them ----------------------------------------

    def _keep_blob(self, db: psycopg.Connection, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        db.execute("INSERT INTO blobs VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (sha, len(data), data))
        return sha

    def blob(self, sha256: str) -> bytes:
        with self._read() as db:
            found = db.execute("SELECT data FROM blobs WHERE sha256 = %s", (sha256,)).fetchone()
        if found is None:
            raise BlobMissing(f"the stored file {sha256[:12]}… is missing")
        return check_digest(bytes(found[0]), sha256)

    # -- caps and runs ------------------------------------------------------------------------

    def _reserve_room(self, db: psycopg.Connection) -> None:
        # Held until the transaction ends: writers that measure the caps take turns, on every replica.
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, ROOM_LOCK))

    def _total_bytes(self, db: psycopg.Connection) -> int:
        """What the store's tables take on the database's disk, indexes and TOAST included."""
        return int(db.execute("SELECT SUM(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) AS t",
                              (list(TABLES),)).fetchone()[0])

    def interrupt_unfinished_runs(self) -> int:
        """Marks "interrupted" the runs still marked training whose replica is gone: its
        liveness lock is no longer held."""
        with self._write() as db:
            return db.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'training' AND (trainer IS NULL OR trainer"
                " NOT IN (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                "         AND classid = %s AND objsubid = 2"
                "         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())))",
                (LOCK_SPACE,)).rowcount
