"""Weight resolution, download, hash checks and the offline switch, on a tiny model.

The checkpoint is generated here and served through the real download code
(file:// URLs, and a loopback HTTP server for what file:// cannot do)."""

import dataclasses
import errno
import hashlib
import http.server
import os
import pickle
import threading
import urllib.request
from pathlib import Path

import pytest
import torch

import pretrained
from pretrained.checksums import sidecar_path
from pretrained.download import StorageError
from pretrained.loading import WeightsError, read_state_dict
from tests.tiny_weights import tiny_spec


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real state dict for the tiny architecture, saved once; (path, sha256, tensors)."""
    torch.manual_seed(0)
    state = pretrained.build_model(tiny_spec()).state_dict()
    path = tmp_path_factory.mktemp("served") / "tiny_resnet.pth"
    torch.save(state, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), state


def assert_holds(loaded, state):
    assert loaded.weights.trained, loaded.weights.problem
    for key, tensor in loaded.model.state_dict().items():
        torch.testing.assert_close(tensor, state[key], rtol=0, atol=0)


def place(path: Path, folder: Path, name: str = "tiny_resnet.pth", record: bool = False) -> Path:
    """Copies the file into `folder`; with `record`, also the digest record a fetch leaves beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    (folder / name).write_bytes(data)
    if record:
        (folder / f"{name}.sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
    return folder / name


def place_in_hf_cache(path: Path, hf_root: Path, repo: str) -> Path:
    """The Hugging Face cache layout: snapshots/<rev>/file -> ../../blobs/<sha256>."""
    data = path.read_bytes()
    repo_dir = hf_root / f"models--{repo.replace('/', '--')}"
    blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("abc123")
    snapshot = repo_dir / "snapshots" / "abc123" / "model.safetensors"
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    return snapshot


def test_resolution_order(weight_dirs, checkpoint, tmp_path):
    path, digest, state = checkpoint
    from safetensors.torch import save_file

    safetensors_file = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(safetensors_file))
    package_file = place(path, tmp_path / "site-packages", record=True)
    spec = tiny_spec(sha256=None, hf_repo="timm/tiny", package_path=lambda: package_file,
                     url=path.as_uri())
    copies = {
        "user": place(path, weight_dirs["user"], record=True),
        "project": place(path, weight_dirs["project"], record=True),
        "torch": place(path, weight_dirs["torch"], record=True),
        "hf": place_in_hf_cache(safetensors_file, weight_dirs["hf"], "timm/tiny"),
    }
    expected = [("user", "local"), ("project", "local"), ("torch", "cache"), ("hf", "cache")]
    for place_name, origin in expected:
        found = pretrained.find_weights(spec.weights)
        assert (found.path, found.origin) == (copies[place_name], origin)
        loaded = pretrained.load_model(spec)
        assert_holds(loaded, state)
        copies[place_name].unlink()
    assert pretrained.find_weights(spec.weights).origin == "package"
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.OFFLINE_READY
    package_file.unlink()
    assert pretrained.find_weights(spec.weights) is None


def test_download_through_file_url_with_the_right_hash(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    spec = tiny_spec(url=path.as_uri(), sha256=digest[:8])
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.DOWNLOADABLE
    seen = []
    loaded = pretrained.load_model(spec, download=True, progress=lambda done, total: seen.append((done, total)))
    assert_holds(loaded, state)
    assert loaded.weights.origin == "download"
    size = path.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert sorted(p.name for p in weight_dirs["torch"].iterdir()) == ["tiny_resnet.pth", "tiny_resnet.pth.sha256"]
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.CACHED


def test_a_wrong_hash_keeps_nothing_and_a_retry_works(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    wrong = tiny_spec(url=path.as_uri(), sha256="deadbeef")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        loaded = pretrained.load_model(wrong, download=True)
    assert not loaded.weights.trained
    assert path.as_uri() in loaded.weights.problem and "expected deadbeef" in loaded.weights.problem
    assert list(weight_dirs["torch"].iterdir()) == []
    assert_holds(pretrained.load_model(dataclasses.replace(wrong, weights=dataclasses.replace(
        wrong.weights, sha256=digest[:8])), download=True), state)


def test_a_corrupt_cached_file_is_named_moved_aside_and_refetched(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    spec = tiny_spec(url=path.as_uri(), sha256=digest)
    bad = weight_dirs["torch"] / "tiny_resnet.pth"
    bad.write_bytes(os.urandom(4096))
    with pytest.warns(UserWarning):
        loaded = pretrained.load_model(spec)
    assert not loaded.weights.trained
    assert str(bad) in loaded.weights.problem and "corrupt" in loaded.weights.problem
    assert not bad.exists() and bad.with_name("tiny_resnet.pth.corrupt").exists()
    # The model handed back is the clean untrained architecture, not half-loaded.
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.DOWNLOADABLE
    assert_holds(pretrained.load_model(spec, download=True), state)


def test_a_truncated_file_is_refused_by_the_reader(weight_dirs, checkpoint):
    path, digest, state = checkpoint
    data = path.read_bytes()
    truncated = weight_dirs["user"] / "tiny_resnet.pth"
    truncated.write_bytes(data[: len(data) // 2])
    # Its record matches the truncated bytes (a server that cut the file and its digest alike).
    sidecar_path(truncated).write_text(hashlib.sha256(truncated.read_bytes()).hexdigest())
    with pytest.warns(UserWarning):
        loaded = pretrained.load_model(tiny_spec(sha256=None))
    assert not loaded.weights.trained
    assert str(truncated) in loaded.weights.problem and "cannot be read" in loaded.weights.problem
    assert not truncated.exists()


def test_a_file_with_no_known_digest_is_not_loaded_and_says_how_to_verify(weight_dirs, checkpoint):
    """Random tensors under a Hugging Face model's file name, with no published digest, no blob
    name and no record: nothing vouches for them, so they must not pass for trained weights."""
    path, digest, state = checkpoint
    spec = tiny_spec(filename="tiny.safetensors", sha256=None, hf_repo="timm/tiny")
    from safetensors.torch import save_file

    torch.manual_seed(1)
    random_state = pretrained.build_model(tiny_spec()).state_dict()
    dropped = weight_dirs["user"] / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in random_state.items()}, str(dropped))
    assert pretrained.find_weights(spec.weights) is None
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.UNTRAINED
    with pytest.warns(UserWarning, match="UNTRAINED"):
        loaded = pretrained.load_model(spec)
    assert not loaded.weights.trained
    problem = loaded.weights.problem
    assert str(dropped) in problem and "no known SHA-256" in problem
    assert "python -m pretrained.fetch tiny_resnet" in problem and str(sidecar_path(dropped)) in problem
    assert dropped.exists()  # not corrupt, only unverified: left where the user put it
    # The same file with the digest its publisher lists beside it is loaded, tensor for tensor.
    sidecar_path(dropped).write_text(hashlib.sha256(dropped.read_bytes()).hexdigest() + "\n")
    assert_holds(pretrained.load_model(spec), random_state)


def test_a_file_changed_after_download_fails_its_recorded_hash(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    spec = tiny_spec(url=path.as_uri(), sha256=None)  # nothing published: the download records one
    assert_holds(pretrained.load_model(spec, download=True), state)
    cached = weight_dirs["torch"] / "tiny_resnet.pth"
    assert sidecar_path(cached).read_text().strip() == digest
    torch.save({k: v + 1 for k, v in state.items()}, cached)
    with pytest.warns(UserWarning):
        loaded = pretrained.load_model(spec)
    assert not loaded.weights.trained and "SHA-256" in loaded.weights.problem


def test_pickled_code_is_never_loaded(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"weight": Payload()}, protocol=2))
    with pytest.raises(WeightsError, match="cannot be read"):
        read_state_dict(evil)


def test_the_offline_switch_never_opens_a_url(weight_dirs, checkpoint, monkeypatch):
    path, digest, state = checkpoint
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("urlopen called in offline mode")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    spec = tiny_spec(url=path.as_uri(), sha256=digest)
    assert pretrained.weights_status(spec) is pretrained.WeightsStatus.UNTRAINED
    with pytest.warns(UserWarning):
        loaded = pretrained.load_model(spec, download=True)
    assert not loaded.weights.trained and "offline mode" in loaded.weights.problem
    with pytest.raises(pretrained.DownloadError, match="offline"):
        pretrained.download_weights(spec.weights)


class _Server(http.server.ThreadingHTTPServer):
    """Serves one body; `claimed_length` can lie to simulate a dropped connection."""

    def __init__(self, body: bytes, claimed_length: int, headers: dict[str, str]):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(claimed_length))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.body = body
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/tiny_resnet.pth"


def test_an_interrupted_download_leaves_no_file(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    data = path.read_bytes()
    server = _Server(data[: len(data) // 2], claimed_length=len(data), headers={})
    try:
        with pytest.raises(pretrained.DownloadError, match="failed|stopped"):
            pretrained.download_weights(tiny_spec(url=server.url).weights)
    finally:
        server.shutdown()
    assert list(weight_dirs["torch"].iterdir()) == []


def test_the_servers_linked_etag_is_checked_when_nothing_is_published(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    data = path.read_bytes()
    lying = _Server(data, len(data), {"X-Linked-Etag": f'"{"0" * 64}"'})
    honest = _Server(data, len(data), {"X-Linked-Etag": f'"{digest}"'})
    try:
        with pytest.raises(pretrained.DownloadError, match="expected 0000"):
            pretrained.download_weights(tiny_spec(url=lying.url).weights)
        assert list(weight_dirs["torch"].iterdir()) == []
        assert pretrained.download_weights(tiny_spec(url=honest.url).weights).origin == "download"
    finally:
        lying.shutdown()
        honest.shutdown()


def test_concurrent_downloads_of_one_file_agree(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    weights = tiny_spec(url=path.as_uri(), sha256=digest).weights
    errors = []

    def fetch():
        try:
            pretrained.download_weights(weights)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert hashlib.sha256((weight_dirs["torch"] / "tiny_resnet.pth").read_bytes()).hexdigest() == digest
    assert not list(weight_dirs["torch"].glob("*.partial"))


def test_loaded_models_are_frozen(weight_dirs, checkpoint):
    path, digest, state = checkpoint
    place(path, weight_dirs["user"])
    model = pretrained.load_model(tiny_spec(sha256=digest)).model
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("fault", ["corrupt", "unverified"])
def test_a_bad_copy_in_the_users_folder_hands_over_to_the_projects_copy(weight_dirs, checkpoint, fault):
    path, digest, state = checkpoint
    bad = weight_dirs["user"] / "tiny_resnet.pth"
    if fault == "corrupt":
        spec = tiny_spec(sha256=digest)
        bad.write_bytes(os.urandom(4096))
        good = place(path, weight_dirs["project"])
    else:
        spec = tiny_spec(sha256=None)
        torch.save({k: torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}, bad)
        good = place(path, weight_dirs["project"], record=True)
    with pytest.warns(UserWarning, match="passed over"):
        loaded = pretrained.load_model(spec)
    assert_holds(loaded, state)
    assert (loaded.weights.path, loaded.weights.origin) == (good, "local")
    [skipped] = loaded.weights.skipped
    assert str(bad) in skipped
    if fault == "corrupt":
        assert "corrupt" in skipped and bad.with_name("tiny_resnet.pth.corrupt").exists() and not bad.exists()
    else:
        assert "no known SHA-256" in skipped and bad.exists()


def test_an_unwritable_torch_home_gives_an_untrained_model_that_names_the_folder(
    weight_dirs, checkpoint, tmp_path, monkeypatch
):
    """A folder under a regular file cannot be created, even by root."""
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "afile" / "sub"))
    spec = tiny_spec(url=path.as_uri(), sha256=digest)
    with pytest.warns(UserWarning, match="UNTRAINED"):
        loaded = pretrained.load_model(spec, download=True)
    assert not loaded.weights.trained
    problem = loaded.weights.problem
    assert str(tmp_path / "afile" / "sub" / "hub" / "checkpoints") in problem
    assert "set TORCH_HOME to a writable folder" in problem and "VISION_EXPLORER_WEIGHTS" in problem
    with pytest.raises(StorageError, match="TORCH_HOME"):
        pretrained.download_weights(spec.weights)


def _full_disk_on_fsync(monkeypatch):
    """A full disk as it often shows: the write is buffered, the flush to the disk fails."""
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def test_a_full_disk_while_recording_the_digest_keeps_nothing(weight_dirs, checkpoint, monkeypatch):
    monkeypatch.setenv("VISION_EXPLORER_OFFLINE", "0")
    path, digest, state = checkpoint
    spec = tiny_spec(url=path.as_uri(), sha256=None)  # nothing published: the record is the only check
    with monkeypatch.context() as full:
        _full_disk_on_fsync(full)
        with pytest.warns(UserWarning, match="UNTRAINED"):
            loaded = pretrained.load_model(spec, download=True)
    assert not loaded.weights.trained
    assert "No space left on device" in loaded.weights.problem
    assert str(weight_dirs["torch"]) in loaded.weights.problem
    assert list(weight_dirs["torch"].iterdir()) == []  # no weights without a record, no empty record
    # With room again, the next download records the digest and a later change is caught.
    assert_holds(pretrained.load_model(spec, download=True), state)
    assert sidecar_path(weight_dirs["torch"] / "tiny_resnet.pth").read_text().strip() == digest


def test_an_empty_digest_record_does_not_let_a_changed_file_pass(weight_dirs, checkpoint, monkeypatch):
    """What the old non-atomic write left after a full disk: a 0-byte record."""
    path, digest, state = checkpoint
    spec = tiny_spec(sha256=None)
    cached = weight_dirs["torch"] / "tiny_resnet.pth"
    torch.save({k: v + 1 for k, v in state.items()}, cached)
    sidecar_path(cached).write_bytes(b"")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        loaded = pretrained.load_model(spec)
    assert not loaded.weights.trained and "empty or malformed" in loaded.weights.problem
    sidecar_path(cached).write_text("not a digest\n")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert not pretrained.load_model(spec).weights.trained


def test_untrained_weights_are_the_same_in_every_process_and_leave_the_generator_alone():
    """A notebook that loads an untrained model draws the page's figure: its random weights are
    seeded, without moving the global generator other sessions draw from."""
    from pretrained.loading import build_model

    spec = tiny_spec()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first, second = build_model(spec), build_model(spec)
    assert torch.equal(torch.random.get_rng_state(), state)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
