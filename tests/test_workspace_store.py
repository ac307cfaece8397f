"""The workspace store: ids, the value codec, blobs, caps, expiry, runs, migrations, and
writers in several threads and processes at once, on SQLite and on PostgreSQL alike (the
`backend` fixture); what only one of them has (files on disk, a replica's liveness lock) is
tested on that one."""

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from app.workspace import values
from app.workspace.blobs import BlobMissing
from app.workspace.ids import ID_BYTES, is_workspace_id, new_workspace_id
from app.workspace.postgres_store import MIGRATIONS as PG_MIGRATIONS
from app.workspace.postgres_store import NewerSchema as PgNewerSchema
from app.workspace.sqlite_store import DATABASE, MIGRATIONS, NewerSchema, SQLiteStore
from app.workspace.store import ReadOnlyWorkspace, StoreFull, UnknownWorkspace
from tests.concurrency import at_once
from tests.conftest import ROOT
from tests.store_backends import PostgresBackend


@pytest.fixture
def store(backend):
    return backend.open()


def test_ids_are_128_random_bits_and_never_paths():
    ids = {new_workspace_id() for _ in range(2000)}
    assert len(ids) == 2000 and all(is_workspace_id(i) and len(i) == 22 for i in ids)
    assert ID_BYTES * 8 == 128
    # Every character position varies: nothing fixed or derived in them.
    assert all(len({i[k] for i in ids}) > 30 for k in range(21))
    for bad in ["../../etc/passwd", "a" * 21, "a" * 23, "abc/defghijklmnopqrstu", "", None, 42, "é" * 22]:
        assert not is_workspace_id(bad)


@pytest.mark.parametrize("value", ["VGG-16", 3, 0.25, True, None, [1, 2], (0.1, 0.9), ["a", (1, 2)], []])
def test_values_round_trip_with_their_types(value):
    back = values.decode(values.encode(value))
    assert back == value and type(back) is type(value)


def test_values_refuse_what_is_not_a_choice():
    for value in [{1, 2}, {"a": 1}, float("nan"), object(), b"bytes"]:
        assert not values.storable(value)
        with pytest.raises(TypeError):
            values.encode(value)
    for text in ["{not json", '{"other": 1}']:
        with pytest.raises(ValueError):
            values.decode(text)


def test_workspaces_open_only_by_their_exact_id(store):
    workspace = store.create_workspace()
    store.open_workspace(workspace)
    for other in [new_workspace_id(), workspace[:-1] + ("A" if workspace[-1] != "A" else "B"), "../" + workspace]:
        with pytest.raises(UnknownWorkspace):
            store.open_workspace(other)


def test_values_are_set_per_key_and_per_workspace(store):
    one, two = store.create_workspace(), store.create_workspace()
    store.save_values(one, {"model": '"VGG-16"', "layer": '"features.3"'})
    store.save_values(one, {"layer": '"features.10"'})
    store.save_values(two, {"model": '"AlexNet"'})
    assert store.values(one) == {"model": '"VGG-16"', "layer": '"features.10"'}
    assert store.values(two) == {"model": '"AlexNet"'}
    store.delete_values(one, ["model"])
    assert store.values(one) == {"layer": '"features.10"'}


def test_two_tabs_writing_at_once_lose_no_update(store, backend):
    workspace = store.create_workspace()
    other_store = backend.open()  # a second connection set, as a second process has
    errors = []

    def tab(which, target):
        try:
            for k in range(60):
                target.save_values(workspace, {f"{which}-{k}": json.dumps(k)})
        except Exception as error:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(error)

    threads = [threading.Thread(target=tab, args=(name, target))
               for name, target in [("a", store), ("b", store), ("c", other_store)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.values(workspace)) == 180


WRITER = """
import sys
from tests.store_backends import opened
store = opened(sys.argv[1])
for k in range(100):
    store.save_values(sys.argv[2], {f"process-{k}": str(k)})
"""


def test_another_process_writing_at_the_same_time(store, backend):
    """A second server process (another replica, or a backup script): both writers' rows land."""
    workspace = store.create_workspace()
    other = subprocess.Popen([sys.executable, "-c", WRITER, backend.where, workspace], cwd=ROOT)
    for k in range(100):
        store.save_values(workspace, {f"here-{k}": str(k)})
    assert other.wait(120) == 0
    assert len(store.values(workspace)) == 200


def test_blobs_are_named_by_their_digest_and_checked_when_read(store, backend):
    workspace = store.create_workspace()
    data = b"\x89PNG fake picture bytes" * 100
    sha = store.put_blob(workspace, data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.blob(sha) == data
    backend.overwrite_blob(sha, data[:-1])  # truncated where it is kept
    with pytest.raises(BlobMissing, match="damaged"):
        store.blob(sha)
    backend.lose_blob(sha)
    with pytest.raises(BlobMissing, match="missing"):
        store.blob(sha)
    with pytest.raises(BlobMissing):
        store.blob("../../etc/passwd")


def test_a_workspace_and_the_store_are_capped(backend):
    store = backend.open(workspace_cap_bytes=10_000, total_cap_bytes=1 << 30)
    one = store.create_workspace()
    store.put_blob(one, b"a" * 6_000)
    with pytest.raises(StoreFull, match="this workspace is full"):
        store.put_blob(one, b"b" * 6_000)
    assert 6_000 <= store.workspace_bytes(one) < 10_000
    small_total = backend.open(workspace_cap_bytes=10_000_000, total_cap_bytes=store.total_bytes() + 100)
    with pytest.raises(StoreFull, match="server's store is full"):
        small_total.put_blob(small_total.create_workspace(), b"c" * 1_000)


def test_unused_workspaces_go_with_the_blobs_only_they_used(store, backend):
    old, kept = store.create_workspace(), store.create_workspace()
    shared = store.put_blob(old, b"shared picture")
    store.put_blob(kept, b"shared picture")
    only_old = store.put_blob(old, b"old picture")
    backend.last_used(old, time.time() - 40 * 86400)
    assert store.remove_unused(30 * 86400) == 1
    with pytest.raises(UnknownWorkspace):
        store.open_workspace(old)
    store.open_workspace(kept)
    assert store.blob(shared) == b"shared picture"
    assert backend.blobs() == {shared}
    with pytest.raises(BlobMissing):
        store.blob(only_old)


def test_two_tabs_adding_at_once_cannot_both_pass_the_cap(backend):
    """Each of eight threads (on two replicas' connection sets) adds 60 % of the cap at the same
    moment: exactly one is kept, the others are told the workspace is full, and no file of
    theirs is left behind."""
    replicas = [backend.open(workspace_cap_bytes=100_000) for _ in range(2)]
    workspace = replicas[0].create_workspace()
    start, outcomes = threading.Barrier(8), []

    def add(n: int) -> None:
        start.wait()
        try:
            outcomes.append(replicas[n % 2].put_blob(workspace, bytes([n]) * 60_000))
        except StoreFull:
            outcomes.append("full")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = [o for o in outcomes if o != "full"]
    assert len(kept) == 1 and outcomes.count("full") == 7
    assert replicas[0].workspace_bytes(workspace) == 60_000 <= replicas[0].workspace_cap_bytes
    assert backend.blobs() == set(kept)


def test_a_replaced_image_frees_its_file(store, backend):
    workspace = store.create_workspace()
    first = store.put_blob(workspace, b"first picture")
    store.release_blob(workspace, first)
    assert backend.blobs() == set() and store.workspace_bytes(workspace) == 0


def test_runs_keep_their_metrics_checkpoints_and_end(store, backend):
    workspace = store.create_workspace()
    store.begin_run(workspace, "run 1", '{"model": "LeNet-5"}', '{"dataset": "digits"}')
    store.append_run_metrics(workspace, "run 1", '{"steps": [[1]]}', 1, 0.5)
    store.append_run_metrics(workspace, "run 1", '{"steps": [[2]]}', 2, 1.0)
    checkpoint = store.put_blob(workspace, b"weights at step 2")
    store.add_checkpoint(workspace, "run 1", 2, checkpoint)
    store.begin_run(workspace, "run 2", "{}", "{}")
    store.end_run(workspace, "run 1", "finished", None, '{"confusion": [[1]]}', 1.5)
    (first, second) = store.runs(workspace)
    assert (first.label, first.status, first.steps_done, first.seconds, first.result) == \
        ("run 1", "finished", 2, 1.5, '{"confusion": [[1]]}')
    assert store.run_states(workspace) == [("run 1", "finished", 2), ("run 2", "training", 0)]
    assert first.metric_chunks == ('{"steps": [[1]]}', '{"steps": [[2]]}')
    assert first.checkpoints == ((2, checkpoint),)
    assert second.status == "training"
    assert store.interrupt_unfinished_runs() == 0  # its trainer, this store's server, still lives
    restarted = backend.open()
    store.close()
    assert restarted.interrupt_unfinished_runs() == 1
    assert [r.status for r in restarted.runs(workspace)] == ["finished", "interrupted"]
    restarted.delete_run(workspace, "run 1")
    assert [r.label for r in restarted.runs(workspace)] == ["run 2"]
    assert checkpoint not in backend.blobs()


def test_sqlite_schema_migrates_and_refuses_a_newer_one(tmp_path):
    store = SQLiteStore(tmp_path / "data")
    assert store.schema_version() == len(MIGRATIONS)
    SQLiteStore(tmp_path / "data")  # opening again applies nothing twice
    db = sqlite3.connect(tmp_path / "data" / DATABASE)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(NewerSchema, match="schema version"):
        SQLiteStore(tmp_path / "data")


def test_a_shared_view_is_a_read_only_copy_and_its_fork_is_the_receivers_own(store):
    sender = store.create_workspace()
    store.save_values(sender, {"choice:race_surface": '"Rosenbrock"'})
    picture = store.put_blob(sender, b"the sender's photo")
    store.save_values(sender, {"image": json.dumps({"sha256": picture, "name": "photo.jpg"})})
    store.begin_run(sender, "run 1", "{}", "{}")
    store.append_run_metrics(sender, "run 1", "[1]", 1, 0.1)
    store.append_run_metrics(sender, "run 1", "[2]", 2, 0.2)
    weights = store.put_blob(sender, b"weights")
    store.add_checkpoint(sender, "run 1", 2, weights)
    store.end_run(sender, "run 1", "finished", None, "{}", 0.2)
    store.begin_run(sender, "run 2", "{}", "{}")  # still training: not part of a view

    shared = store.copy_workspace(sender, read_only=True)
    assert store.is_read_only(shared) and not store.is_read_only(sender)
    assert store.values(shared) == store.values(sender)
    assert [r.label for r in store.runs(shared)] == ["run 1"]
    copied = store.run(shared, "run 1")
    assert copied.metric_chunks == ("[1]", "[2]") and copied.checkpoints == ((2, weights),)
    for write in [lambda: store.save_values(shared, {"choice:x": "1"}), lambda: store.put_blob(shared, b"x"),
                  lambda: store.begin_run(shared, "run 3", "{}", "{}"), lambda: store.delete_run(shared, "run 1"),
                  lambda: store.release_blob(shared, picture)]:
        with pytest.raises(ReadOnlyWorkspace):
            write()

    fork = store.copy_workspace(shared, read_only=False)
    store.save_values(fork, {"choice:race_surface": '"Himmelblau"'})
    store.delete_run(fork, "run 1")
    assert store.values(sender)["choice:race_surface"] == '"Rosenbrock"'
    assert store.values(shared)["choice:race_surface"] == '"Rosenbrock"'
    assert [r.label for r in store.runs(sender)] == ["run 1", "run 2"]
    assert store.blob(weights) == b"weights"  # still the sender's and the view's


def test_a_run_keeps_only_its_newest_resume_point(store, backend):
    """Resume points come every few seconds; only the newest is kept, the one before is released
    (its file gone), and going back to an earlier step forgets a newer one."""
    workspace = store.create_workspace()
    store.begin_run(workspace, "run 1", "{}", "{}")
    states = []
    for step in (0, 10, 20):
        states.append(store.put_blob(workspace, f"optimizer at {step}".encode() * 50))
        store.add_checkpoint(workspace, "run 1", step, store.put_blob(workspace, f"weights {step}".encode()))
        store.set_resume_point(workspace, "run 1", step, states[-1])
    assert store.run(workspace, "run 1").resume == (20, states[-1])
    assert [s in backend.blobs() for s in states] == [False, False, True]
    held = store.workspace_bytes(workspace)
    assert held == sum(len(f"weights {s}".encode()) for s in (0, 10, 20)) + len(b"optimizer at 20" * 50) + 4  # + "{}", "{}"
    store.end_run(workspace, "run 1", "interrupted", None, None, 1.0)
    copy = store.copy_workspace(workspace, read_only=False)  # a fork keeps the run's resume state
    assert store.run(copy, "run 1").resume == (20, states[-1])

    store.resume_run(workspace, "run 1", "[]", 10)  # going on from step 10: what came after is trained again
    row = store.run(workspace, "run 1")
    assert row.resume is None and [s for s, _ in row.checkpoints] == [0, 10]
    assert states[-1] in backend.blobs()  # the fork still holds it
    store.delete_run(copy, "run 1")
    assert states[-1] not in backend.blobs()
    assert store.workspace_bytes(workspace) == len(b"weights 0") + len(b"weights 10") + 6  # + "{}", "{}", "[]"


def test_a_first_version_store_gains_resume_states_and_keeps_its_runs(tmp_path):
    """A data folder written before resume states were kept opens, migrated, with its runs."""
    folder = tmp_path / "data"
    folder.mkdir()
    db = sqlite3.connect(folder / DATABASE)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO workspaces VALUES ('w' || hex(randomblob(10)), 0, 0, 0)")
    [(workspace,)] = db.execute("SELECT id FROM workspaces")
    db.execute("INSERT INTO runs (workspace, label, config, data, status, started) VALUES (?, 'run 1', '{}', '{}',"
               " 'interrupted', 0)", (workspace,))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SQLiteStore(folder)
    assert store.schema_version() == len(MIGRATIONS) == 3
    row = store.run(workspace, "run 1")
    assert row.status == "interrupted" and row.resume is None


def test_postgresql_schema_migrates_once_when_replicas_start_together_and_refuses_a_newer_one(tmp_path, request):
    with PostgresBackend(tmp_path, request) as backend:
        _replicas_start_together(backend)


def _replicas_start_together(backend: PostgresBackend) -> None:
    opened = []
    errors = at_once(lambda _: opened.append(backend.open()), 4)
    assert errors == [] and [s.schema_version() for s in opened] == [len(PG_MIGRATIONS)] * 4
    backend.sql("UPDATE schema_version SET version = %s", (len(PG_MIGRATIONS) + 1,))
    with pytest.raises(PgNewerSchema, match="schema version"):
        backend.open()


REPLICA = """
import sys, time
from tests.store_backends import opened
store = opened(sys.argv[1])
store.begin_run(sys.argv[2], "run on the killed replica", "{}", "{}")
print("training", flush=True)
time.sleep(600)
"""


def test_a_killed_replica_s_runs_are_interrupted_by_another_at_once(backend):
    """Each replica's runs are its own while it lives; once it is killed (no goodbye), another
    replica marks them interrupted on its next look, without waiting for a timeout."""
    here = backend.open()
    workspace = here.create_workspace()
    here.begin_run(workspace, "run here", "{}", "{}")
    other = subprocess.Popen([sys.executable, "-c", REPLICA, backend.where, workspace], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "training"
        if backend.where.startswith("postgresql://"):  # SQLite: one server per data folder, see below
            assert here.interrupt_unfinished_runs() == 0
        other.kill()
        other.wait(60)
        deadline = time.monotonic() + 60  # PostgreSQL notices the closed socket within moments
        interrupted = here.interrupt_unfinished_runs()
        while not interrupted and time.monotonic() < deadline:
            time.sleep(0.05)
            interrupted = here.interrupt_unfinished_runs()
        assert interrupted == 1
        assert dict((label, status) for label, status, _ in here.run_states(workspace)) == \
            {"run here": "training", "run on the killed replica": "interrupted"}
    finally:
        other.kill()
