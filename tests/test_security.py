"""What a classroom server must never do: run pickled code, trust a user's path, or
accept uploads without XSRF protection or beyond the stated limit."""

import ast

import tomllib

from app.images import MAX_FILE_BYTES
from tests.conftest import ROOT

SOURCES = [path for folder in ("app", "pretrained", "components", "pages") for path in (ROOT / folder).rglob("*.py")]
SOURCES.append(ROOT / "streamlit_app.py")


def _calls(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            yield path.relative_to(ROOT), ast.unparse(node.func), {k.arg: ast.unparse(k.value) for k in node.keywords}


def test_every_torch_load_refuses_pickled_code():
    loads = [(path, keywords) for path, name, keywords in (c for p in SOURCES for c in _calls(p)) if name == "torch.load"]
    assert loads, "the weight loader calls torch.load somewhere"
    assert [(str(path), k.get("weights_only")) for path, k in loads if k.get("weights_only") != "True"] == []


def test_nothing_unpickles_except_one_allow_listed_dataset_reader():
    risky = {"pickle.load", "pickle.loads", "joblib.load", "dill.load", "torch.serialization.load"}
    found = [(str(path), name) for path, name, keywords in (c for p in SOURCES for c in _calls(p))
             if name in risky or (name in ("np.load", "numpy.load") and keywords.get("allow_pickle") == "True")]
    assert found == []
    # The one Unpickler (CIFAR-10's batches, a torchvision download, never a user's file)
    # allows numpy's reconstruction functions only.
    unpicklers = [(path, node) for path in SOURCES for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.ClassDef) and any("Unpickler" in ast.unparse(b) for b in node.bases)]
    assert [str(path.relative_to(ROOT)) for path, _ in unpicklers] == ["app/training/datasets.py"]
    assert all(any(isinstance(f, ast.FunctionDef) and f.name == "find_class" for f in node.body)
               for _, node in unpicklers)


def test_uploads_are_read_as_bytes_never_as_paths():
    # Streamlit keeps uploads in memory; the app must not turn a user's file name into a path.
    uploads = [(str(path), name) for path, name, _ in (c for p in SOURCES for c in _calls(p))
               if name.endswith(("file_uploader", "camera_input"))]
    assert uploads, "the image picker offers uploads"
    for path in {p for p, _ in uploads}:
        text = (ROOT / path).read_text()
        assert "getvalue()" in text and "open(" not in text and "Path(" not in text, path


def test_xsrf_protection_is_on_and_the_upload_limit_is_the_apps():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True
    assert server["maxUploadSize"] * 2**20 == MAX_FILE_BYTES
