"""The two workspace stores behind one face for the tests, with the ways to reach under them
(damage a blob, age a workspace) that each keeps differently."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import psycopg

from app.workspace.postgres_store import PostgresStore
from app.workspace.sqlite_store import DATABASE, SQLiteStore


def opened(where: str, **caps) -> SQLiteStore | PostgresStore:
    """A store on `where`: a PostgreSQL URL, or else a data folder."""
    return PostgresStore(where, **caps) if where.startswith("postgresql://") else SQLiteStore(Path(where), **caps)


class Backend:
    where: str

    def __init__(self):
        self._opened = []

    def open(self, **caps):
        """Another store on the same data: another server process's (or replica's) view of it."""
        store = opened(self.where, **caps)
        self._opened.append(store)
        return store

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for store in self._opened:
            store.close()


class SQLiteBackend(Backend):
    def __init__(self, tmp_path: Path, _request):
        super().__init__()
        self.folder = tmp_path / "data"
        self.where = str(self.folder)

    def sql(self, statement: str, parameters=()) -> list:
        with sqlite3.connect(self.folder / DATABASE) as db:
            return db.execute(statement, parameters).fetchall()

    def overwrite_blob(self, sha: str, data: bytes) -> None:
        (self.folder / "blobs" / sha[:2] / sha[2:]).write_bytes(data)

    def lose_blob(self, sha: str) -> None:
        (self.folder / "blobs" / sha[:2] / sha[2:]).unlink()

    def blobs(self) -> set[str]:
        """The blobs kept, by digest: the files in the blob folder."""
        return {p.parent.name + p.name for p in (self.folder / "blobs").rglob("*") if p.is_file()}

    def last_used(self, workspace: str, when: float) -> None:
        self.sql("UPDATE workspaces SET used = ? WHERE id = ?", (when, workspace))


class PostgresBackend(Backend):
    def __init__(self, _tmp_path: Path, request):
        super().__init__()
        self.where = request.getfixturevalue("postgres").new_database()

    def sql(self, statement: str, parameters=()) -> list:
        with psycopg.connect(self.where) as db:
            cursor = db.execute(statement, parameters)
            return cursor.fetchall() if cursor.description else []

    def overwrite_blob(self, sha: str, data: bytes) -> None:
        self.sql("UPDATE blobs SET data = %s WHERE sha256 = %s", (data, sha))

    def lose_blob(self, sha: str) -> None:
        # The rows that point at it go first: the database never keeps a reference to nothing.
        self.sql("DELETE FROM workspace_blobs WHERE sha256 = %s", (sha,))
        self.sql("DELETE FROM blobs WHERE sha256 = %s", (sha,))

    def blobs(self) -> set[str]:
        """The blobs kept, by digest: the rows whose bytes still match their name."""
        return {sha for sha, data in self.sql("SELECT sha256, data FROM blobs")
                if hashlib.sha256(data).hexdigest() == sha}

    def last_used(self, workspace: str, when: float) -> None:
        self.sql("UPDATE workspaces SET used = %s WHERE id = %s", (when, workspace))


BACKENDS = {"sqlite": SQLiteBackend, "postgresql": PostgresBackend}
