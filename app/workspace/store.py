"""What a workspace store does, whatever keeps the data: SQLite on one server
(sqlite_store.py), PostgreSQL where several replicas share it (postgres_store.py).

The store keeps text and bytes; it does not know what a training run or a widget is. Values
and run records are JSON written by the callers (app.workspace.values, app.training.records),
large items are blobs named by their SHA-256. A row that no longer reads back is the caller's
to report, item by item: one damaged item never hides the rest of a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreFull(RuntimeError):
    """A cap is reached (one workspace's or the whole store's); the message says which."""


class ReadOnlyWorkspace(PermissionError):
    """A shared view: opened by its link, never written (a change forks it first)."""


class UnknownWorkspace(LookupError):
    """No workspace has this id (never made, or removed after it went unused)."""


def room_problem(workspace_bytes: int, workspace_cap: int, total_bytes: int, total_cap: int) -> str | None:
    """Why a write that would bring the workspace and the store to these sizes is refused."""
    if workspace_bytes > workspace_cap:
        return (f"this workspace is full ({workspace_cap >> 20} MB): delete some training runs, or start a fresh "
                f"workspace")
    if total_bytes > total_cap:
        return (f"the server's store is full ({total_cap >> 20} MB): ask the teacher to remove old workspaces or "
                f"raise VISION_EXPLORER_STORE_MB")
    return None


@dataclass(frozen=True)
class RunRow:
    """One training run as stored: JSON texts as their writer left them."""
    label: str
    config: str
    data: str
    status: str  # "training", "finished", "stopped", "failed", "interrupted"
    problem: str | None
    steps_done: int
    seconds: float  # of training, as far as it got
    metric_chunks: tuple[str, ...]  # in the order written
    result: str | None
    checkpoints: tuple[tuple[int, str], ...]  # (step, blob digest), by step
    resume: tuple[int, str] | None = None  # (step, blob digest) of its newest resume point


class WorkspaceStore(Protocol):
    def create_workspace(self) -> str: ...

    def copy_workspace(self, source: str, read_only: bool) -> str:
        """A new workspace holding `source`'s settings, files and runs that are not training."""

    def is_read_only(self, workspace: str) -> bool: ...

    def open_workspace(self, workspace: str) -> None:
        """Marks it used now; UnknownWorkspace if there is none with this id."""

    def put_blob(self, workspace: str, data: bytes) -> str:
        """Keeps `data` for the workspace; returns its SHA-256. StoreFull past a cap."""

    def blob(self, sha256: str) -> bytes:
        """The bytes; blobs.BlobMissing when the file is gone or damaged."""

    def release_blob(self, workspace: str, sha256: str) -> None: ...

    def save_values(self, workspace: str, values: dict[str, str]) -> None:
        """Sets these keys (others stay as they are)."""

    def delete_values(self, workspace: str, keys: list[str]) -> None: ...

    def values(self, workspace: str) -> dict[str, str]: ...

    def begin_run(self, workspace: str, label: str, config: str, data: str) -> None: ...

    def resume_run(self, workspace: str, label: str, chunk: str, steps_done: int) -> None:
        """An interrupted run trains again from `steps_done`: its metrics become `chunk` (those up
        to that step), its checkpoints after it go."""

    def append_run_metrics(self, workspace: str, label: str, chunk: str, steps_done: int, seconds: float) -> None:
        """Adds one batch of metrics (many steps at once: one write, not one per step)."""

    def add_checkpoint(self, workspace: str, label: str, step: int, sha256: str) -> None: ...

    def set_resume_point(self, workspace: str, label: str, step: int, sha256: str) -> None:
        """The run's newest resume state (a blob) at `step`; the one before is released."""

    def end_run(self, workspace: str, label: str, status: str, problem: str | None,
                result: str | None, seconds: float) -> None: ...

    def run_states(self, workspace: str) -> list[tuple[str, str, int]]:
        """(label, status, steps done) of each run, oldest first: cheap, for every page run."""

    def run(self, workspace: str, label: str) -> RunRow:
        """One run with its metrics; KeyError if there is none with this label."""

    def runs(self, workspace: str) -> list[RunRow]: ...

    def delete_run(self, workspace: str, label: str) -> None: ...

    def interrupt_unfinished_runs(self) -> int:
        """Marks "interrupted" the runs still marked training whose trainer is gone (its server
        process ended: a restart, a crash, a killed replica); returns how many."""

    def workspace_bytes(self, workspace: str) -> int: ...

    def total_bytes(self) -> int: ...

    def remove_unused(self, unused_for_s: float) -> int:
        """Removes workspaces not opened for this long and the blobs only they used."""

    def close(self) -> None:
        """Lets go of the store's connections (a server's end; the tests' many stores)."""
