"""The store a server uses: PostgreSQL when a database URL is set (several replicas share it),
else SQLite in the data folder (one server)."""

from __future__ import annotations

from pathlib import Path

from app.workspace.sqlite_store import SQLiteStore
from app.workspace.store import WorkspaceStore


def open_store(database_url: str | None, data_dir: Path, workspace_cap_bytes: int,
               total_cap_bytes: int) -> WorkspaceStore:
    if database_url:
        # Imported here: a server on SQLite never loads the PostgreSQL driver.
        from app.workspace.postgres_store import PostgresStore
        return PostgresStore(database_url, workspace_cap_bytes, total_cap_bytes)
    return SQLiteStore(data_dir, workspace_cap_bytes, total_cap_bytes)
