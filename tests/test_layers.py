"""The layer contract (docs/architecture.md), checked on the import graph of every module:

pages → components → app and pretrained. Inside app: topic packages (cnn, attribution, vit,
swin, optim, training, landscape) use the drawing kit (app.figures), the serving machinery
(app.serving) and the shared input (app's top-level modules), and another topic only where
TOPIC_USES says why. app.serving and app.workspace (the workspace store) use no other part of
app, and every part may use them; pretrained never imports app;
nothing imports recipes or pages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CODE = ("app", "pretrained", "recipes", "components", "pages")
TOPICS = ("cnn", "attribution", "atlas", "segmentation", "video", "vit", "swin", "transformer", "detection", "optim",
          "training", "landscape", "lessons")
INFRASTRUCTURE = ("serving", "workspace")  # used by every part of app, using none
# (user, used): why one topic may use another.
TOPIC_USES = {
    ("atlas", "training"): "the atlas counts LeNet-5 as the live-training page builds it",
    ("atlas", "cnn"): "the atlas reads receptive fields with the feature-map page's calculator",
    ("segmentation", "training"): "the scenes are built from Fashion-MNIST, which the training topic loads",
    ("video", "training"): "Moving Fashion-MNIST is built from Fashion-MNIST, which the training topic loads",
    ("video", "cnn"): "a Kinetics network's space-time field is three walks of the feature-map page's calculator",
    ("transformer", "vit"): "the self-attention walk-through embeds patches as the ViT capture does",
    ("detection", "segmentation"): "the detection scenes paste garments as the segmentation scenes do",
    ("landscape", "training"): "a landscape is drawn for the live-training networks, on their data",
    ("training", "optim"): "training steps the optimizers' learning-rate schedules",
}
# What each layer may import, besides itself and third-party code.
LAYER_USES = {
    "pages": {"components", "app", "pretrained"},
    "components": {"app", "pretrained"},
    "app": {"pretrained"},
    "recipes": {"app", "pretrained"},
    "pretrained": set(),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def imports_of(source: str, module: str) -> set[str]:
    """Every project module `module`'s source imports, at the top or inside a function."""
    found = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            # `from app.cnn import capture` imports the module app.cnn.capture
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in CODE}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    return {module_name(path, root): imports_of(path.read_text(), module_name(path, root))
            for top in CODE for path in (root / top).rglob("*.py")}


def _part_of_app(module: str) -> str:
    """'serving', 'figures', a topic, or 'shared' for app's top-level modules (the input)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "shared"
    return parts[1] if (ROOT / "app" / parts[1]).is_dir() or parts[1] in (*TOPICS, "serving", "figures") else "shared"


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for user, used in graph.items():
        layer = user.split(".")[0]
        for target in sorted(used):
            target_layer = target.split(".")[0]
            if target_layer in ("recipes", "pages") and target_layer != layer:
                found.append(f"{user} imports {target}: nothing imports {target_layer}")
            elif target_layer != layer and target_layer not in LAYER_USES[layer]:
                found.append(f"{user} imports {target}: {layer} may not use {target_layer}")
            elif layer == target_layer == "app":
                found += _app_violations(user, target)
    return found


def _app_violations(user: str, target: str) -> list[str]:
    mine, theirs = _part_of_app(user), _part_of_app(target)
    if mine == theirs or theirs in INFRASTRUCTURE and mine not in INFRASTRUCTURE:
        return []
    if mine in INFRASTRUCTURE:
        return [f"{user} imports {target}: app.{mine} uses no other part of app"]
    if theirs in TOPICS and (mine, theirs) not in TOPIC_USES:
        return [f"{user} imports {target}: {mine} may not use the {theirs} topic (add it to TOPIC_USES, saying why)"]
    if mine in ("shared", "figures") and theirs in TOPICS:
        return [f"{user} imports {target}: the shared {mine} may not use a topic"]
    return []


def test_the_import_graph_keeps_the_layers():
    graph = import_graph()
    assert len(graph) > 80 and any(graph.values())  # the whole tree was read
    assert violations(graph) == []


@pytest.mark.parametrize("module, wrong_import, rule", [
    ("pretrained.registry", "from app.serving.settings import SLOTS", "pretrained may not use app"),
    ("app.serving.bounded_cache", "import app.cnn.capture", "app.serving uses no other part of app"),
    ("app.workspace.store", "from app.training.loop import train", "app.workspace uses no other part of app"),
    ("app.vit.capture", "from app.swin import windows", "vit may not use the swin topic"),
    ("app.optim.race", "from app.training.loop import train", "optim may not use the training topic"),
    ("app.figures.mosaic", "from app.attribution.methods import grad_cam", "attribution topic"),
    ("app.preprocess", "from app.cnn.capture import capture", "cnn topic"),
    ("app.cnn.figures", "import streamlit\nfrom components.models import loaded_model", "app may not use components"),
    ("components.models", "from pages import home", "nothing imports pages"),
    ("app.landscape.grid", "from recipes.tiny_training import train_on_fashion_mnist", "nothing imports recipes"),
    ("app.attribution.methods", "def later():\n    from app.vit import maps", "attribution may not use the vit topic"),
])
def test_a_wrong_import_breaks_the_contract(module, wrong_import, rule):
    """A deliberately added wrong import, in a real module's source, is reported."""
    graph = import_graph()
    path = ROOT / (module.replace(".", "/") + ".py")
    graph[module] = imports_of(path.read_text() + "\n" + wrong_import + "\n", module)
    found = violations(graph)  # `from a.b import c` reports a.b and a.b.c: both are wrong
    assert found and all(rule in line for line in found), found


def test_allowed_uses_are_not_reported():
    graph = {"app.landscape.grid": {"app.training.loop", "app.serving.bounded_cache", "app.figures.colormaps",
                                    "app.preprocess", "pretrained.registry"},
             "components.models": {"app.cnn.capture", "pretrained.registry"},
             "pages.home": {"components.models", "app.figures.mosaic"},
             "recipes.train_tiny_vit": {"app.training.loop", "pretrained.registry"}}
    assert violations(graph) == []


# What makes a module-level object server-wide state: one object serves every session.
SHARED_MAKERS = {"BoundedCache", "ComputeSlots", "Lock", "RLock", "Semaphore", "BoundedSemaphore", "OrderedDict",
                 "dict", "list", "set", "cache_resource", "SQLiteStore", "PostgresStore", "open_store"}


def _begun_empty(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict):
        return not value.keys
    return isinstance(value, (ast.List, ast.Set)) and not value.elts


def server_wide_objects(source: str) -> list[str]:
    """Names made at a module's top level that one process would share between sessions:
    caches, slots, locks, containers begun empty (a filled literal is a constant table), and
    functions under st.cache_resource."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = node.value
            made = value.func if isinstance(value, ast.Call) else value
            name = getattr(made, "attr", getattr(made, "id", None))
            if name in SHARED_MAKERS or _begun_empty(value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found += [ast.unparse(target) for target in targets]
        elif isinstance(node, ast.FunctionDef):
            decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
            found += [node.name for d in decorators if getattr(d, "attr", None) == "cache_resource"]
    return found


def test_server_wide_objects_are_made_in_one_place():
    """components/server_state.py holds them all, so a reader sees in one file what every
    session shares and how far each may grow."""
    gathered = server_wide_objects((ROOT / "components" / "server_state.py").read_text())
    assert {"MODEL_CACHE", "CAPTURES", "SLOTS", "SHARED_JOBS", "RACES", "DATASETS", "STORE"} <= set(gathered)
    elsewhere = {path.name: made for path in (ROOT / "components").glob("*.py")
                 if path.name != "server_state.py" and (made := server_wide_objects(path.read_text()))}
    assert elsewhere == {}


@pytest.mark.parametrize("added", [
    "_LATEST = {}",
    "_SEEN: OrderedDict[str, int] = OrderedDict()",
    "_GUARD = threading.Lock()",
    "_FIGURES = BoundedCache(max_entries=4)",
    "@st.cache_resource(max_entries=2)\ndef _dataset(name):\n    return name",
])
def test_a_server_wide_object_made_elsewhere_is_found(added):
    source = (ROOT / "components" / "optimizer_race.py").read_text()
    assert server_wide_objects(source) == []
    assert len(server_wide_objects(source + "\n" + added + "\n")) == 1
