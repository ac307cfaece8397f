"""A throwaway PostgreSQL server on loopback (Debian's postgresql package), for the tests.

The cluster lives in a temporary folder and listens on a free port of 127.0.0.1 only, with a
password, as a department's server would ask for one; it is stopped and removed at the end.
PostgreSQL refuses to run as root: as root, its programs run as the package's `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.browser import free_port

PASSWORD = secrets.token_urlsafe(12)


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL is missing: scripts/run_tests.sh installs Debian's postgresql package")
    return found[-1].parent


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL: one per test, so no test sees another's rows."""
        name = "test_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    binaries = _binaries()
    folder = Path(tempfile.mkdtemp(prefix="vision-explorer-pg-"))
    cluster, password_file = folder / "cluster", folder / "password"
    password_file.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(password_file, "postgres")
    port = free_port()
    try:
        subprocess.run(_as_owner([str(binaries / "initdb"), "-D", str(cluster), "-U", "postgres",
                                  "--auth=scram-sha-256", f"--pwfile={password_file}", "--no-sync"]),
                       check=True, capture_output=True)
        # The socket folder is the cluster's own (the system's /run/postgresql may not be ours).
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} -c fsync=off"
        subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(cluster), "-o", options, "-w", "-t", "120",
                                  "-l", str(folder / "log"), "start"]), check=True, capture_output=True)
        try:
            yield PostgresServer(port)
        finally:
            subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(cluster), "-m", "immediate", "stop"]),
                           capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
