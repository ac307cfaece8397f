"""deploy/kubernetes/ against the Kubernetes schemas (offline), and against the app it deploys:
the Dockerfile's port, health check and user, the settings the app knows, what a class needs
of the Ingress and the autoscaler. Each check returns its problems, so that a broken copy of
the files can show that it fails."""

import copy
import functools
import inspect
import operator
import os
import re

import kubernetes_validate
import pytest
import yaml

from app.serving import settings
from app.serving.allocator import keep_freed_memory
from pretrained.locations import OFFLINE_ENV, WEIGHTS_DIR_ENV
from tests.conftest import ROOT

# The oldest release a department's cluster may still run, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.major_minor(kubernetes_validate.latest_version()))
FOLDER = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(path for path in FOLDER.glob("*.yaml") if path.name != "kustomization.yaml")
RESOURCES = {doc["kind"]: doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc}

DOCKERFILE = (ROOT / "Dockerfile").read_text()
UPLOAD_MB = int(re.search(r"^maxUploadSize = (\d+)$", (ROOT / ".streamlit" / "config.toml").read_text(),
                          re.MULTILINE).group(1))
DATABASE_URL_ENV = settings.DATABASE_URL.name  # the workspace store on PostgreSQL
# Streamlit signs its cookies with it: the replicas must share one (an upload after a fail-over).
COOKIE_SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
SECRETS = (DATABASE_URL_ENV, COOKIE_SECRET_ENV)
KNOWN_ENV = {s.name for s in settings.SETTINGS} | {OFFLINE_ENV, WEIGHTS_DIR_ENV, COOKIE_SECRET_ENV,
                                                    "HF_HUB_OFFLINE"}  # huggingface_hub's own switch
LESSON_S = 3600
NGINX = "nginx.ingress.kubernetes.io/"  # ingress-nginx's annotations


def _dockerfile(pattern: str) -> str:
    return re.search(pattern, DOCKERFILE, re.MULTILINE).group(1)


def _pod(r: dict) -> dict:
    return r["Deployment"]["spec"]["template"]["spec"]


def _container(r: dict) -> dict:
    [container] = _pod(r)["containers"]
    return container


def _env(r: dict) -> dict[str, dict]:
    return {item["name"]: item for item in _container(r)["env"]}


def _mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity (2Gi, 512Mi) in MiB."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * {"Mi": 1, "Gi": 1024}[unit]


def _nginx_mebibytes(size: str) -> float:
    """An nginx size (26m, 1g, 512k, bytes) in MiB."""
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()
    return int(number) * {"": 2**-20, "k": 2**-10, "m": 1, "g": 1024}[unit]


def port_problems(r: dict) -> list[str]:
    """The probes, the Service and the Ingress reach the port and the health path the image serves."""
    container, service = _container(r), r["Service"]["spec"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    expose, health = int(_dockerfile(r"^EXPOSE (\d+)$")), _dockerfile(r"http://localhost:\d+(/\S*?)\"")
    problems = [f"container port {p} is not the Dockerfile's EXPOSE {expose}"
                for p in named.values() if p != expose]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        if (get["path"], named.get(get["port"], get["port"])) != (health, expose):
            problems.append(f"{probe} asks {get['path']} on {get['port']}, not {health} on {expose}")
    problems += [f"Service targetPort {p['targetPort']} is not {expose}" for p in service["ports"]
                 if named.get(p["targetPort"], p["targetPort"]) != expose]
    service_ports = {key for p in service["ports"] for key in (p["port"], p.get("name"))}
    for rule in r["Ingress"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            port = backend["port"].get("name", backend["port"].get("number"))
            if backend["name"] != r["Service"]["metadata"]["name"] or port not in service_ports:
                problems.append(f"the Ingress sends {path['path']} to {backend}, not the Service")
    return problems


def selector_problems(r: dict) -> list[str]:
    """The Service, the Deployment and the budget select the pods; the autoscaler scales the Deployment."""
    labels = r["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selectors = {"Service": r["Service"]["spec"]["selector"],
                 "Deployment": r["Deployment"]["spec"]["selector"]["matchLabels"],
                 "PodDisruptionBudget": r["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]}
    problems = [f"the {kind}'s selector {s} misses the pods' labels {labels}" for kind, s in selectors.items()
                if not s or s.items() - labels.items()]
    target, deployment = r["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"], r["Deployment"]
    if (target["kind"], target["name"]) != (deployment["kind"], deployment["metadata"]["name"]):
        problems.append(f"the autoscaler scales {target['kind']} {target['name']}")
    return problems


def env_problems(r: dict) -> list[str]:
    """Only names the app reads; the database URL from the Secret; values the settings check accepts."""
    env = _env(r)
    problems = [f"{name} is no setting the app reads" for name in env.keys() - KNOWN_ENV]
    for name in SECRETS:
        item = env.get(name, {})
        if "value" in item or "secretKeyRef" not in item.get("valueFrom", {}):
            problems.append(f"{name} must come from a Secret (secretKeyRef), never a literal")
    values = {name: item["value"] for name, item in env.items() if "value" in item}
    # Folders are the pod's, not this machine's: numbers and choices, with the tests' data folder.
    checked = {s.name for s in settings.SETTINGS
               if isinstance(s, (settings.NumberSetting, settings.ChoiceSetting))}
    environ = {name: v for name, v in values.items() if name in checked}
    environ[settings.DATA_DIR.name] = os.environ[settings.DATA_DIR.name]
    problems += settings.setting_problems(environ)
    if _pod(r).get("enableServiceLinks", True):
        problems.append("enableServiceLinks adds VISION_EXPLORER_SERVICE_HOST… beside the settings")
    return problems


def security_problems(r: dict) -> list[str]:
    """Non-root as the Dockerfile's USER, nothing to escalate to, writes only where a volume is."""
    pod, container = _pod(r)["securityContext"], _container(r)
    user = int(_dockerfile(r"^USER (\S+)$"))
    context = {**pod, **container["securityContext"]}
    problems = [] if context.get("runAsNonRoot") is True and context.get("runAsUser") == user else \
        [f"the pod must run as non-root uid {user}"]
    dropped = context.get("capabilities", {}).get("drop")
    if context.get("allowPrivilegeEscalation") is not False or dropped != ["ALL"]:
        problems.append("privilege escalation must be off and every capability dropped")
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    data = _env(r).get(settings.DATA_DIR.name, {}).get("value", _dockerfile(r"VISION_EXPLORER_DATA=(\S+)"))
    if context.get("readOnlyRootFilesystem") is True:
        problems += [f"{folder} is written but no volume is mounted there"
                     for folder in sorted({"/tmp", data} - mounts.keys())]
    weights = {_dockerfile(r"TORCH_HOME=(\S+)"), _dockerfile(r"HF_HOME=(\S+)"),
               _env(r).get(WEIGHTS_DIR_ENV, {}).get("value")} - {None}
    problems += [f"the weights' mount at {path} must be readOnly" for path, mount in mounts.items()
                 if not mount.get("readOnly") and any(os.path.commonpath([path, w]) in (path, w)
                                                      for w in weights)]
    return problems


def sizing_problems(r: dict) -> list[str]:
    """The memory limit holds the bounded caches; the slots fit the CPU limit."""
    env = {name: item["value"] for name, item in _env(r).items() if "value" in item}
    limits = _container(r)["resources"]["limits"]
    kept_mb = inspect.signature(keep_freed_memory).parameters["trim_threshold"].default >> 20
    bounded = settings.MODELS_MB.read(env) + settings.CACHE_MB.read(env) + kept_mb
    problems = [] if _mebibytes(limits["memory"]) > bounded else \
        [f"memory limit {limits['memory']} does not hold models + captures + freed memory ({bounded} MB)"]
    if settings.SLOTS.read(env) > float(limits["cpu"]):
        problems.append(f"{settings.SLOTS.name} runs more jobs at once than its {limits['cpu']} cores")
    return problems


def class_problems(r: dict) -> list[str]:
    """A class keeps its replica and its WebSockets for a lesson, and its uploads pass."""
    annotations = r["Ingress"]["metadata"]["annotations"]
    nginx = {key.removeprefix(NGINX): value for key, value in annotations.items()}
    problems = [] if (nginx.get("affinity"), nginx.get("affinity-mode")) == ("cookie", "persistent") else \
        ["the Ingress must keep each student on their replica (cookie affinity, persistent)"]
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        if int(nginx.get(key, "60")) < LESSON_S:  # nginx's default: 60 s
            problems.append(f"{key} is under a lesson ({LESSON_S} s)")
    if _nginx_mebibytes(nginx.get("proxy-body-size", "1m")) <= UPLOAD_MB:
        problems.append(f"proxy-body-size must pass the app's {UPLOAD_MB} MB uploads and their wrapping")
    hpa = r["HorizontalPodAutoscaler"]["spec"]
    if hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] < LESSON_S:
        problems.append("a scale-down may cut a class's WebSockets in the middle of a lesson")
    budget, replicas = r["PodDisruptionBudget"]["spec"]["minAvailable"], r["Deployment"]["spec"]["replicas"]
    if not budget < hpa["minReplicas"] <= replicas:
        problems.append("the budget, the autoscaler's minimum and the replicas must leave one to evict")
    return problems


CHECKS = (port_problems, selector_problems, env_problems, security_problems, sizing_problems, class_problems)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_document_is_valid_kubernetes(path, version):
    for doc in filter(None, yaml.safe_load_all(path.read_text())):
        kubernetes_validate.validate(doc, version, strict=True)


def test_kustomization_applies_every_file():
    kustomization = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_files_fit_the_app(check):
    assert check(RESOURCES) == []


POD = ("Deployment", "spec", "template", "spec")
CONTAINER = (*POD, "containers", 0)
MOUNTS = _container(RESOURCES)["volumeMounts"]
HPA = ("HorizontalPodAutoscaler", "spec")
BREAKAGES = [
    pytest.param(port_problems, (*CONTAINER, "livenessProbe", "httpGet", "port"), 8502, id="probe port"),
    pytest.param(port_problems, ("Service", "spec", "ports", 0, "targetPort"), 80, id="target port"),
    pytest.param(selector_problems, (*HPA, "scaleTargetRef", "name"), "old", id="hpa target"),
    pytest.param(selector_problems, ("Service", "spec", "selector"), {"app": "vision"}, id="selector"),
    pytest.param(env_problems, (*CONTAINER, "env", 0), {"name": DATABASE_URL_ENV, "value": "postgresql://u:p@db/v"},
                 id="literal database URL"),
    pytest.param(env_problems, (*CONTAINER, "env", 1), {"name": COOKIE_SECRET_ENV, "value": "not-secret"},
                 id="literal cookie secret"),
    pytest.param(env_problems, (*CONTAINER, "env", 2), {"name": "VISION_EXPLORER_OFLINE", "value": "1"},
                 id="unknown name"),
    pytest.param(env_problems, (*CONTAINER, "env", 2), {"name": OFFLINE_ENV, "value": "maybe"}, id="value"),
    pytest.param(security_problems, (*POD, "securityContext", "runAsUser"), 0, id="root"),
    pytest.param(security_problems, (*CONTAINER, "volumeMounts"), MOUNTS[:1], id="/tmp read-only"),
    pytest.param(security_problems, (*CONTAINER, "volumeMounts"),
                 [*MOUNTS, {"name": "weights", "mountPath": "/opt/weights"}], id="writable weights"),
    pytest.param(sizing_problems, (*CONTAINER, "resources", "limits", "memory"), "2Gi", id="memory limit"),
    pytest.param(class_problems, ("Ingress", "metadata", "annotations", f"{NGINX}proxy-read-timeout"), "60",
                 id="timeout"),
    pytest.param(class_problems, (*HPA, "behavior", "scaleDown", "stabilizationWindowSeconds"), 300,
                 id="scale-down window"),
]


@pytest.mark.parametrize(("check", "path", "value"), BREAKAGES)
def test_each_check_catches_a_broken_copy(check, path, value):
    broken = copy.deepcopy(RESOURCES)
    *parents, last = path
    functools.reduce(operator.getitem, parents, broken)[last] = value
    assert check(broken), f"{check.__name__} missed it"
