"""What the two workspace stores share: the SQL both SQLite and PostgreSQL speak, written once.

A subclass brings its connections (`_write`, `_read`), its placeholder style (`_sql`), where
blob bytes live (`_keep_blob`, `blob`, `_forget_blobs`), how writers that measure the caps
queue (`_reserve_room`), its size on disk (`_total_bytes`), and how it knows which runs lost
their trainer (`interrupt_unfinished_runs`). Statements here use `?` placeholders.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any

from app.workspace.ids import is_workspace_id, new_workspace_id
from app.workspace.store import ReadOnlyWorkspace, RunRow, StoreFull, UnknownWorkspace, room_problem

Connection = Any  # sqlite3.Connection or psycopg.Connection: both execute and return cursors


class SqlStore:
    ORDER: str  # the column that numbers rows in the order they were written
    trainer: object  # this server process's mark on the runs it trains
    workspace_cap_bytes: int
    total_cap_bytes: int

    # -- what a subclass brings ---------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Connection]:
        """One transaction, committed at the end of the block, rolled back if it raises."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _sql(self, statement: str) -> str:
        """`statement` in the connection's placeholder style."""
        return statement

    def _keep_blob(self, db: Connection, data: bytes) -> str:
        """Keeps the bytes and their row in `blobs` (unless they are kept already); their SHA-256."""
        raise NotImplementedError

    def blob(self, sha256: str) -> bytes:
        """The bytes; blobs.BlobMissing when they are gone or damaged."""
        raise NotImplementedError

    def _forget_blobs(self, shas: list[str]) -> None:
        """After the commit that removed their rows: what still holds these blobs' bytes goes."""

    def _reserve_room(self, db: Connection) -> None:
        """Before measuring the caps: writers that add must not measure at the same time."""

    def _total_bytes(self, db: Connection) -> int:
        raise NotImplementedError

    # -- statements ---------------------------------------------------------------------------

    def _run(self, db: Connection, statement: str, parameters: tuple = ()):
        return db.execute(self._sql(statement), parameters)

    def _run_many(self, db: Connection, statement: str, rows: list[tuple]) -> None:
        db.cursor().executemany(self._sql(statement), rows)

    # -- workspaces ---------------------------------------------------------------------------

    def create_workspace(self) -> str:
        workspace, now = new_workspace_id(), time.time()
        with self._write() as db:
            self._run(db, "INSERT INTO workspaces VALUES (?, ?, ?, ?)", (workspace, now, now, False))
        return workspace

    def copy_workspace(self, source: str, read_only: bool) -> str:
        """A new workspace with `source`'s settings, files and runs that are not training: a
        shared snapshot (read-only), or a snapshot's fork (writable, its receiver's own)."""
        copy, now = new_workspace_id(), time.time()
        runs = "SELECT label FROM runs WHERE workspace = ? AND status != 'training'"
        with self._write() as db:
            self._run(db, "INSERT INTO workspaces VALUES (?, ?, ?, ?)", (copy, now, now, read_only))
            self._run(db, "INSERT INTO settings SELECT ?, key, value FROM settings WHERE workspace = ?", (copy, source))
            self._run(db, "INSERT INTO workspace_blobs SELECT ?, sha256 FROM workspace_blobs WHERE workspace = ?",
                      (copy, source))
            # In the source's order, so the copy lists its runs and metrics as the source does.
            self._run(db, f"INSERT INTO runs (workspace, label, config, data, status, problem, steps_done, seconds,"
                          f" result, started, resume_step, resume_sha256) SELECT ?, label, config, data, status,"
                          f" problem, steps_done, seconds, result, started, resume_step, resume_sha256 FROM runs"
                          f" WHERE workspace = ? AND status != 'training' ORDER BY {self.ORDER}", (copy, source))
            self._run(db, f"INSERT INTO run_metrics (workspace, label, chunk) SELECT ?, label, chunk FROM run_metrics"
                          f" WHERE workspace = ? AND label IN ({runs}) ORDER BY {self.ORDER}", (copy, source, source))
            self._run(db, f"INSERT INTO run_checkpoints SELECT ?, label, step, sha256 FROM run_checkpoints"
                          f" WHERE workspace = ? AND label IN ({runs})", (copy, source, source))
        return copy

    def is_read_only(self, workspace: str) -> bool:
        with self._read() as db:
            found = self._run(db, "SELECT read_only FROM workspaces WHERE id = ?", (workspace,)).fetchone()
        return bool(found and found[0])

    def _writable(self, db: Connection, workspace: str) -> None:
        found = self._run(db, "SELECT read_only FROM workspaces WHERE id = ?", (workspace,)).fetchone()
        if found is None:
            raise UnknownWorkspace("no workspace has this id")
        if found[0]:
            raise ReadOnlyWorkspace("a shared view cannot be changed; a change makes the receiver's own copy")

    def open_workspace(self, workspace: str) -> None:
        """Marks it used now; UnknownWorkspace if there is none with this id."""
        if not is_workspace_id(workspace):
            raise UnknownWorkspace("not a workspace id")
        with self._write() as db:
            if not self._run(db, "UPDATE workspaces SET used = ? WHERE id = ?", (time.time(), workspace)).rowcount:
                raise UnknownWorkspace("no workspace has this id")

    def remove_unused(self, unused_for_s: float) -> int:
        with self._write() as db:
            removed = self._run(db, "DELETE FROM workspaces WHERE used < ?", (time.time() - unused_for_s,)).rowcount
            orphans = self._drop_orphan_blobs(db)
        self._forget_blobs(orphans)
        return removed

    def _drop_orphan_blobs(self, db: Connection) -> list[str]:
        return [row[0] for row in self._run(
            db, "DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM workspace_blobs)"
                " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints)"
                " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE resume_sha256 IS NOT NULL)"
                " RETURNING sha256")]

    # -- sizes and caps -----------------------------------------------------------------------

    def workspace_bytes(self, workspace: str) -> int:
        with self._read() as db:
            return self._workspace_bytes(db, workspace)

    def _workspace_bytes(self, db: Connection, workspace: str) -> int:
        """Blob bytes plus the characters of its texts."""
        return int(self._run(
            db, "SELECT (SELECT COALESCE(SUM(b.bytes), 0) FROM blobs b WHERE b.sha256 IN"
                "        (SELECT sha256 FROM workspace_blobs WHERE workspace = ?))"
                " + (SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM settings WHERE workspace = ?)"
                " + (SELECT COALESCE(SUM(LENGTH(chunk)), 0) FROM run_metrics WHERE workspace = ?)"
                " + (SELECT COALESCE(SUM(LENGTH(config) + LENGTH(data) + COALESCE(LENGTH(result), 0)), 0)"
                "    FROM runs WHERE workspace = ?)", (workspace,) * 4).fetchone()[0])  # PostgreSQL sums in NUMERIC

    def total_bytes(self) -> int:
        with self._read() as db:
            return self._total_bytes(db)

    def _check_room(self, db: Connection, workspace: str, adding: int) -> None:
        # Measured inside the writer's transaction, after its turn: two tabs (or two replicas)
        # adding at once cannot both pass the cap.
        self._reserve_room(db)
        problem = room_problem(self._workspace_bytes(db, workspace) + adding, self.workspace_cap_bytes,
                               self._total_bytes(db) + adding, self.total_cap_bytes)
        if problem:
            raise StoreFull(problem)

    # -- blobs --------------------------------------------------------------------------------

    def put_blob(self, workspace: str, data: bytes) -> str:
        """Keeps `data` for the workspace; returns its SHA-256. StoreFull past a cap."""
        with self._write() as db:
            self._writable(db, workspace)
            self._check_room(db, workspace, len(data))
            sha = self._keep_blob(db, data)
            self._run(db, "INSERT INTO workspace_blobs VALUES (?, ?) ON CONFLICT DO NOTHING", (workspace, sha))
        return sha

    def release_blob(self, workspace: str, sha256: str) -> None:
        """The workspace no longer needs this blob (a replaced image); it goes when no one does."""
        with self._write() as db:
            self._writable(db, workspace)
            self._run(db, "DELETE FROM workspace_blobs WHERE workspace = ? AND sha256 = ?", (workspace, sha256))
            orphans = self._drop_orphan_blobs(db)
        self._forget_blobs(orphans)

    # -- settings -----------------------------------------------------------------------------

    def save_values(self, workspace: str, values: dict[str, str]) -> None:
        """Sets these keys (others stay as they are)."""
        if not values:
            return
        with self._write() as db:
            self._writable(db, workspace)
            self._run_many(db, "INSERT INTO settings VALUES (?, ?, ?) ON CONFLICT (workspace, key)"
                               " DO UPDATE SET value = excluded.value",
                           [(workspace, key, value) for key, value in values.items()])

    def delete_values(self, workspace: str, keys: list[str]) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            self._run_many(db, "DELETE FROM settings WHERE workspace = ? AND key = ?", [(workspace, k) for k in keys])

    def values(self, workspace: str) -> dict[str, str]:
        with self._read() as db:
            return dict(self._run(db, "SELECT key, value FROM settings WHERE workspace = ?", (workspace,)).fetchall())

    # -- training runs ------------------------------------------------------------------------

    def begin_run(self, workspace: str, label: str, config: str, data: str) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            self._check_room(db, workspace, len(config) + len(data))
            self._run(db, "INSERT INTO runs (workspace, label, config, data, status, started, trainer)"
                          " VALUES (?, ?, ?, ?, 'training', ?, ?)",
                      (workspace, label, config, data, time.time(), self.trainer))

    def resume_run(self, workspace: str, label: str, chunk: str, steps_done: int) -> None:
        """An interrupted run trains again, here, from `steps_done`: its metrics become `chunk`
        (those up to that step), its checkpoints after it go."""
        with self._write() as db:
            self._writable(db, workspace)
            if not self._run(db, "UPDATE runs SET status = 'training', problem = NULL, result = NULL,"
                                 " steps_done = ?, trainer = ? WHERE workspace = ? AND label = ?",
                             (steps_done, self.trainer, workspace, label)).rowcount:
                raise KeyError(label)
            self._run(db, "DELETE FROM run_metrics WHERE workspace = ? AND label = ?", (workspace, label))
            self._run(db, "INSERT INTO run_metrics (workspace, label, chunk) VALUES (?, ?, ?)",
                      (workspace, label, chunk))
            # What was trained after that step is trained again: its checkpoints and resume state go.
            dropped = [row[0] for row in self._run(
                db, "DELETE FROM run_checkpoints WHERE workspace = ? AND label = ? AND step > ? RETURNING sha256",
                (workspace, label, steps_done))]
            stale = self._run(db, "SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ?"
                                  " AND resume_step > ?", (workspace, label, steps_done)).fetchone()
            if stale:
                self._run(db, "UPDATE runs SET resume_step = NULL, resume_sha256 = NULL WHERE workspace = ?"
                              " AND label = ?", (workspace, label))
                dropped.append(stale[0])
            self._release_unreferenced(db, workspace, dropped)
            orphans = self._drop_orphan_blobs(db)
        self._forget_blobs(orphans)

    def append_run_metrics(self, workspace: str, label: str, chunk: str, steps_done: int, seconds: float) -> None:
        """Adds one batch of metrics (many steps at once: one write, not one per step)."""
        with self._write() as db:
            self._run(db, "INSERT INTO run_metrics (workspace, label, chunk) VALUES (?, ?, ?)",
                      (workspace, label, chunk))
            self._run(db, "UPDATE runs SET steps_done = ?, seconds = ? WHERE workspace = ? AND label = ?",
                      (steps_done, seconds, workspace, label))

    def add_checkpoint(self, workspace: str, label: str, step: int, sha256: str) -> None:
        with self._write() as db:
            self._run(db, "INSERT INTO run_checkpoints VALUES (?, ?, ?, ?) ON CONFLICT (workspace, label, step)"
                          " DO UPDATE SET sha256 = excluded.sha256", (workspace, label, step, sha256))

    def set_resume_point(self, workspace: str, label: str, step: int, sha256: str) -> None:
        """The run's newest resume state (a blob) at `step`; the one before is released."""
        with self._write() as db:
            old = self._run(db, "SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ?",
                            (workspace, label)).fetchone()
            self._run(db, "UPDATE runs SET resume_step = ?, resume_sha256 = ? WHERE workspace = ? AND label = ?",
                      (step, sha256, workspace, label))
            if old and old[0] and old[0] != sha256:  # only the newest is worth keeping
                self._release_unreferenced(db, workspace, [old[0]])
            orphans = self._drop_orphan_blobs(db)
        self._forget_blobs(orphans)

    def _release_unreferenced(self, db: Connection, workspace: str, shas: list[str]) -> None:
        """Drops the workspace's hold on blobs none of its checkpoints or resume states point at
        any more."""
        self._run_many(db, "DELETE FROM workspace_blobs WHERE workspace = ? AND sha256 = ?"
                           " AND sha256 NOT IN (SELECT sha256 FROM run_checkpoints WHERE workspace = ?)"
                           " AND sha256 NOT IN (SELECT resume_sha256 FROM runs WHERE workspace = ?"
                           "                    AND resume_sha256 IS NOT NULL)",
                       [(workspace, sha, workspace, workspace) for sha in shas])

    def end_run(self, workspace: str, label: str, status: str, problem: str | None, result: str | None,
                seconds: float) -> None:
        with self._write() as db:
            self._run(db, "UPDATE runs SET status = ?, problem = ?, result = ?, seconds = ?"
                          " WHERE workspace = ? AND label = ?", (status, problem, result, seconds, workspace, label))

    def run_states(self, workspace: str) -> list[tuple[str, str, int]]:
        """(label, status, steps done) of each run, oldest first: cheap, for every page run."""
        with self._read() as db:
            return [tuple(row) for row in self._run(
                db, f"SELECT label, status, steps_done FROM runs WHERE workspace = ? ORDER BY started, {self.ORDER}",
                (workspace,))]

    def run(self, workspace: str, label: str) -> RunRow:
        """One run with its metrics; KeyError if there is none with this label."""
        with self._read() as db:
            found = self._run(db, "SELECT label, config, data, status, problem, steps_done, seconds, result,"
                                  " resume_step, resume_sha256 FROM runs WHERE workspace = ? AND label = ?",
                              (workspace, label)).fetchone()
            if found is None:
                raise KeyError(label)
            chunks = tuple(row[0] for row in self._run(
                db, f"SELECT chunk FROM run_metrics WHERE workspace = ? AND label = ? ORDER BY {self.ORDER}",
                (workspace, label)))
            checkpoints = tuple(tuple(row) for row in self._run(
                db, "SELECT step, sha256 FROM run_checkpoints WHERE workspace = ? AND label = ? ORDER BY step",
                (workspace, label)))
        label, config, data, status, problem, steps_done, seconds, result, resume_step, resume_sha = found
        return RunRow(label, config, data, status, problem, steps_done, seconds, chunks, result, checkpoints,
                      None if resume_sha is None else (resume_step, resume_sha))

    def runs(self, workspace: str) -> list[RunRow]:
        return [self.run(workspace, label) for label, _, _ in self.run_states(workspace)]

    def delete_run(self, workspace: str, label: str) -> None:
        with self._write() as db:
            self._writable(db, workspace)
            held = [row[0] for row in self._run(
                db, "SELECT sha256 FROM run_checkpoints WHERE workspace = ? AND label = ? UNION"
                    " SELECT resume_sha256 FROM runs WHERE workspace = ? AND label = ? AND resume_sha256 IS NOT NULL",
                (workspace, label, workspace, label))]
            self._run(db, "DELETE FROM runs WHERE workspace = ? AND label = ?", (workspace, label))
            self._release_unreferenced(db, workspace, held)
            orphans = self._drop_orphan_blobs(db)
        self._forget_blobs(orphans)
