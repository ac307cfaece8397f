"""Model registry and weight provisioning. Never imports streamlit.

    >>> import pretrained
    >>> loaded = pretrained.load_model("efficientnet_lite0")
    >>> loaded.weights.trained
    True

The names below are loaded on first use: the settings check imports `pretrained.locations`
before the server starts, and loading the zoo there (torch, timm, torchvision) made every
start seconds slower.
"""

from importlib import import_module

_HOMES = {
    "DownloadError": "pretrained.download",
    "class_names": "pretrained.labels",
    "LoadedModel": "pretrained.loading",
    "WeightsInfo": "pretrained.loading",
    "build_model": "pretrained.loading",
    "load_model": "pretrained.loading",
    "ZooRow": "pretrained.overview",
    "zoo_overview": "pretrained.overview",
    "get_spec": "pretrained.registry",
    "list_specs": "pretrained.registry",
    "register_model": "pretrained.registry",
    "WeightsStatus": "pretrained.resolve",
    "download_weights": "pretrained.resolve",
    "find_weights": "pretrained.resolve",
    "weights_fingerprint": "pretrained.resolve",
    "weights_status": "pretrained.resolve",
    "ModelSpec": "pretrained.spec",
    "Preprocessing": "pretrained.spec",
    "WeightsFile": "pretrained.spec",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'pretrained' has no attribute {name!r}") from None
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
