"""Weight resolution, download, hash checks and the offline switch, on a tiny model.

The checkpoint is generated here and served through the real download code
(file:// URLs, and a loopback HTTP server for what file:// cannot do)."""

import dataclasses
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


def place(path: Path, folder: Path, name: str = "tiny_resnet.pth") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(path.read_bytes())
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
    package_file = place(path, tmp_path / "site-packages")
    spec = tiny_spec(sha256=None, hf_repo="timm/tiny", package_path=lambda: package_file,
                     url=path.as_uri())
    copies = {
        "user": place(path, weight_dirs["user"]),
        "project": place(path, weight_dirs["project"]),
        "torch": place(path, weight_dirs["torch"]),
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


def test_a_truncated_file_without_a_known_hash_is_refused_by_the_reader(weight_dirs, checkpoint):
    path, digest, state = checkpoint
    data = path.read_bytes()
    truncated = weight_dirs["user"] / "tiny_resnet.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning):
        loaded = pretrained.load_model(tiny_spec(sha256=None))
    assert not loaded.weights.trained
    assert str(truncated) in loaded.weights.problem and "cannot be read" in loaded.weights.problem
    assert not truncated.exists()


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
