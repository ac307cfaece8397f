"""Model registry and weight provisioning. Never imports streamlit.

    >>> import pretrained
    >>> loaded = pretrained.load_model("efficientnet_lite0")
    >>> loaded.weights.trained
    True
"""

from pretrained import zoo as _zoo  # noqa: F401  (registers the entries)
from pretrained.download import DownloadError
from pretrained.labels import class_names
from pretrained.loading import LoadedModel, WeightsInfo, build_model, load_model
from pretrained.overview import ZooRow, zoo_overview
from pretrained.registry import get_spec, list_specs, register_model
from pretrained.resolve import (
    WeightsStatus,
    download_weights,
    find_weights,
    weights_fingerprint,
    weights_status,
)
from pretrained.spec import ModelSpec, Preprocessing, WeightsFile

__all__ = [
    "DownloadError",
    "LoadedModel",
    "ModelSpec",
    "Preprocessing",
    "WeightsFile",
    "WeightsInfo",
    "WeightsStatus",
    "ZooRow",
    "build_model",
    "class_names",
    "download_weights",
    "find_weights",
    "get_spec",
    "list_specs",
    "load_model",
    "register_model",
    "weights_fingerprint",
    "weights_status",
    "zoo_overview",
]
