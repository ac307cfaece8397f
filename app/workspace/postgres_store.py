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
import time
from collections.abc import Iterator

import psycopg
from psycopg_pool import ConnectionPool

from app.workspace.blobs import BlobMissing, check_digest
from app.workspace.ids import is_workspace_id, new_workspace_id
from app.workspace.store import ReadOnlyWorkspace, RunRow, StoreFull, UnknownWorkspace, room_problem

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


class PostgresStore:
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
        """One transaction: committed at the end of the block, rolled back if it raises."""
        with self._pool.connection() as db:
            yield db

    @contextlib.contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with self._pool.connection() as db:
            yield db

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

    # -- workspaces ---------------------------------------------------------------------------

    def create_workspace(self) -> str:
        workspace, now = new_workspace_id(), time.time()
        with self._write() as db:
            db.execute("INSERT INTO workspaces VALUES (%s, %s, %s, FALSE)", (workspace, now, now))
        return workspace

    def copy_workspace(self, source: str, read_only: bool) -> str:
        """A new workspace with `source`'s settings, files and runs that are not training: a
        shared snapshot (read-only), or a snapshot's fork (writable, its receiver's own)."""
        copy, now = new_workspace_id(), time.time()
        with self._write() as db:
            db.execute("INSERT INTO workspaces VALUES (%s, %s, %s, %s)", (copy, now, now, read_only))
            db.execute("INSERT INTO settings SELECT %s, key, value FROM settings WHERE workspace = %s", (copy, source))
            db.execute("INSERT INTO workspace_blobs SELECT %s, sha256 FROM workspace_blobs WHERE workspace = %s",
                       (copy, source))
            # In the source's order (number), so the copy lists its runs and metrics as the source does.
            db.execute("INSERT INTO runs (workspace, label, config, data, status, problem, steps_done, seconds,"
                       " result, started, resume_step, resume_sha256) SELECT %s, label, config, data, status,"
                       " problem, steps_done, seconds, result, started, resume_step, resume_sha256 FROM runs"
                       " WHERE workspace = %s AND status != 'training' ORDER BY number", (copy, source))
            runs = "SELECT label FROM runs WHERE workspace = %s AND status != 'training'"
            db.execute(f"INSERT INTO run_metrics (workspace, label, chunk) SELECT %s, label, chunk FROM run_metrics"
                       f" WHERE workspace = %s AND label IN ({runs}) ORDER BY number", (copy, source, source))
            db.execute(f"INSERT INTO run_checkpoints SELECT %s, label, step, sha256 FROM run_checkpoints"
                       f" WHERE workspace = %s AND label IN ({runs})", (copy, source, source))
        return copy

    def is_read_only(self, workspace: str) -> bool:
        with self._read() as db:
            found = db.execute("SELECT read_only FROM workspaces WHERE id = %s", (workspace,)).fetchone()
        return bool(found and found[0])

    @staticmethod
    def _writable(db: psycopg.Connection, workspace: str) -> None:
        # FOR SHARE: the workspace cannot be removed (expiry) between this check and the write.
        found = db.execute("SELECT read_only FROM workspaces WHERE id = %s FOR SHARE", (workspace,)).fetchone()
        if found is None:
            raise UnknownWorkspace("no workspace has this id")
        if found[0]:
            raise ReadOnlyWorkspace("a shared view cannot be changed; a change makes the receiver's own copy")

    def open_workspace(self, workspace: str) -> None:
        if not is_workspace_id(workspace):
            raise UnknownWorkspace("not a workspace id")
        with self._write() as db:
            if not db.execute("UPDATE workspaces SET used = %s WHERE id = %s", (time.time(), workspace)).rowcount:
                raise UnknownWorkspace("no workspace has this id")

    def remove_unused(self, unused_for_s: float) -> int:
        with self._write() as db:
            removed = db.execute("DELETE FROM workspaces WHERE used < %s", (time.time() - unused_for_s,)).rowcount
            self._drop_orphan_blobs(db)
        return removed

    @staticmethod
    def _drop_orphan_blobs(db: psycopg.Connection) -> None:
        db.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM workspace_blobs)"
                   " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints)"
                   " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE resume_sha256 IS NOT NULL)")

    # -- sizes and caps -----------------------------------------------------------------------

    def workspace_bytes(self, workspace: str) -> int:
        with self._read() as db:
            return self._workspace_bytes(db, workspace)

    @staticmethod
    def _workspace_bytes(db: psycopg.Connection, workspace: str) -> int:
        # The same measure as the SQLite store's: blob bytes plus the characters of its texts.
        return int(db.execute(
            "SELECT (SELECT COALESCE(SUM(b.bytes), 0) FROM blobs b WHERE b.sha256 IN"
            "        (SELECT sha256 FROM workspace_blobs WHERE workspace = %(w)s))"
            " + (SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM settings WHERE workspace = %(w)s)"
            " + (SELECT COALESCE(SUM(LENGTH(chunk)), 0) FROM run_metrics WHERE workspace = %(w)s)"
            " + (SELECT COALESCE(SUM(LENGTH(config) + LENGTH(data) + COALESCE(LENGTH(result), 0)), 0)"
            "    FROM runs WHERE workspace = %(w)s)", {"w": workspace}).fetchone()[0])  # SUM gives NUMERIC

    def total_bytes(self) -> int:
        """What the store's tables take on the database's disk, indexes and TOAST included."""
        with self._read() as db:
            return self._total_bytes(db)

    @staticmethod
    def _total_bytes(db: psycopg.Connection) -> int:
        return int(db.execute("SELECT SUM(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) AS t",
                              (list(TABLES),)).fetchone()[0])

    def _check_room(self, db: psycopg.Connection, workspace: str, adding: int) -> None:
        # Every writer that measures takes this lock first: two replicas adding at once cannot
        # both pass the cap. It is held until the transaction ends.
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, ROOM_LOCK))
        problem = room_problem(self._workspace_bytes(db, workspace) + adding, self.workspace_cap_bytes,
                               self._total_bytes(db) + adding, self.total_cap_bytes)
        if problem:
            raise StoreFull(problem)

    # -- blobs --------------------------------------------------------------------------------

    def put_blob(self, workspace: str, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with self._write() as db:
            self._writable(db, workspace)
            self._check_room(db, workspace, len(data))
            db.execute("INSERT INTO blobs VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (sha, len(data), data))
            db.execute("INSERT INTO workspace_blobs VALUES (%s, %s) ON CONFLICT DO NOTHING", (workspace, sha))
        return sha

    def blob(self, sha256: str) -> bytes:
        with self._read() as db:
            found = db.execute("SELECT data FROM blobs WHERE sha256 = %s", (sha256,)).fetchone()
        if found is None:
            raise BlobMissing(f"the stored file {sha256[:12]}… is missing")
        return check_digest(bytes(found[0]), sha256)

    def release_blob(self, workspace: str, sha256: str) -> None:
        """The workspace no longer needs this blob (a replaced image); its row goes when no one does."""
        with self._write() as db:
            self._writable(db, workspace)
            db.execute("DELETE FROM workspace_blobs WHERE workspace = %s AND sha256 = %s", (workspace, sha256))
            self._drop_orphan_blobs(db)

    # -- settings -----------------------------------------------------------------------------

    def save_values(self, workspace: str, values: dict[str, str]) -> None:
        if not values:
            return
        with self._write() as db:
            self._writable(db, workspace)
            db.cursor().executemany("INSERT INTO settings VALUES (%s, %s, %s) ON CONFLICT (workspace, key)"
                                    " DO UPDATE SET value = excluded.value",
                                    [(workspace, key, value) for key, value in values.items()])

    def delete_values(self, workspace: str, keys: list[str]) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            db.execute("DELETE FROM settings WHERE workspace = %s AND key = ANY(%s)", (workspace, list(keys)))

    def values(self, workspace: str) -> dict[str, str]:
        with self._read() as db:
            return dict(db.execute("SELECT key, value FROM settings WHERE workspace = %s", (workspace,)).fetchall())

    # -- training runs ------------------------------------------------------------------------

    def begin_run(self, workspace: str, label: str, config: str, data: str) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            self._check_room(db, workspace, len(config) + len(data))
            db.execute("INSERT INTO runs (workspace, label, config, data, status, started, trainer)"
                       " VALUES (%s, %s, %s, %s, 'training', %s, %s)",
                       (workspace, label, config, data, time.time(), self.trainer))

    def resume_run(self, workspace: str, label: str, chunk: str, steps_done: int) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            if not db.execute("UPDATE runs SET status = 'training', problem = NULL, result = NULL, steps_done = %s,"
                              " trainer = %s WHERE workspace = %s AND label = %s",
                              (steps_done, self.trainer, workspace, label)).rowcount:
                raise KeyError(label)
            db.execute("DELETE FROM run_metrics WHERE workspace = %s AND label = %s", (workspace, label))
            db.execute("INSERT INTO run_metrics (workspace, label, chunk) VALUES (%s, %s, %s)",
                       (workspace, label, chunk))
            # What was trained after that step is trained again: its checkpoints and resume state go.
            dropped = [row[0] for row in db.execute(
                "DELETE FROM run_checkpoints WHERE workspace = %s AND label = %s AND step > %s RETURNING sha256",
                (workspace, label, steps_done))]
            stale = db.execute("SELECT resume_sha256 FROM runs WHERE workspace = %s AND label = %s"
                               " AND resume_step > %s", (workspace, label, steps_done)).fetchone()
            if stale:
                db.execute("UPDATE runs SET resume_step = NULL, resume_sha256 = NULL WHERE workspace = %s"
                           " AND label = %s", (workspace, label))
                dropped.append(stale[0])
            self._release_unreferenced(db, workspace, dropped)
            self._drop_orphan_blobs(db)

    def append_run_metrics(self, workspace: str, label: str, chunk: str, steps_done: int, seconds: float) -> None:
        with self._write() as db:
            db.execute("INSERT INTO run_metrics (workspace, label, chunk) VALUES (%s, %s, %s)",
                       (workspace, label, chunk))
            db.execute("UPDATE runs SET steps_done = %s, seconds = %s WHERE workspace = %s AND label = %s",
                       (steps_done, seconds, workspace, label))

    def add_checkpoint(self, workspace: str, label: str, step: int, sha256: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO run_checkpoints VALUES (%s, %s, %s, %s) ON CONFLICT (workspace, label, step)"
                       " DO UPDATE SET sha256 = excluded.sha256", (workspace, label, step, sha256))

    def set_resume_point(self, workspace: str, label: str, step: int, sha256: str) -> None:
        with self._write() as db:
            old = db.execute("SELECT resume_sha256 FROM runs WHERE workspace = %s AND label = %s",
                             (workspace, label)).fetchone()
            db.execute("UPDATE runs SET resume_step = %s, resume_sha256 = %s WHERE workspace = %s AND label = %s",
                       (step, sha256, workspace, label))
            if old and old[0] and old[0] != sha256:  # only the newest is worth keeping
                self._release_unreferenced(db, workspace, [old[0]])
            self._drop_orphan_blobs(db)

    @staticmethod
    def _release_unreferenced(db: psycopg.Connection, workspace: str, shas: list[str]) -> None:
        """Drops the workspace's hold on blobs none of its checkpoints or resume states point at
        any more."""
        db.execute("DELETE FROM workspace_blobs WHERE workspace = %(w)s AND sha256 = ANY(%(s)s)"
                   " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints WHERE workspace = %(w)s)"
                   " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE workspace = %(w)s"
                   "                    AND resume_sha256 IS NOT NULL)", {"w": workspace, "s": shas})

    def end_run(self, workspace: str, label: str, status: str, problem: str | None, result: str | None,
                seconds: float) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET status = %s, problem = %s, result = %s, seconds = %s"
                       " WHERE workspace = %s AND label = %s", (status, problem, result, seconds, workspace, label))

    def run_states(self, workspace: str) -> list[tuple[str, str, int]]:
        with self._read() as db:
            return [tuple(row) for row in db.execute(
                "SELECT label, status, steps_done FROM runs WHERE workspace = %s ORDER BY started, number",
                (workspace,))]

    def run(self, workspace: str, label: str) -> RunRow:
        with self._read() as db:
            found = db.execute("SELECT label, config, data, status, problem, steps_done, seconds, result,"
                               " resume_step, resume_sha256 FROM runs WHERE workspace = %s AND label = %s",
                               (workspace, label)).fetchone()
            if found is None:
                raise KeyError(label)
            chunks = tuple(row[0] for row in db.execute(
                "SELECT chunk FROM run_metrics WHERE workspace = %s AND label = %s ORDER BY number",
                (workspace, label)))
            checkpoints = tuple(tuple(row) for row in db.execute(
                "SELECT step, sha256 FROM run_checkpoints WHERE workspace = %s AND label = %s ORDER BY step",
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
                "SELECT sha256 FROM run_checkpoints WHERE workspace = %(w)s AND label = %(l)s UNION"
                " SELECT resume_sha256 FROM runs WHERE workspace = %(w)s AND label = %(l)s"
                " AND resume_sha256 IS NOT NULL", {"w": workspace, "l": label})]
            db.execute("DELETE FROM runs WHERE workspace = %s AND label = %s", (workspace, label))
            self._release_unreferenced(db, workspace, held)
            self._drop_orphan_blobs(db)

    def interrupt_unfinished_runs(self) -> int:
        """Runs marked training whose replica is gone: its liveness lock is no longer held."""
        with self._write() as db:
            return db.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'training' AND (trainer IS NULL OR trainer"
                " NOT IN (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                "         AND classid = %s AND objsubid = 2"
                "         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())))",
                (LOCK_SPACE,)).rowcount
