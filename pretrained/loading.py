"""Building a registry model and loading its weights, safely and frozen."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from pretrained.checksums import UnverifiedFile, expected_digest, sidecar_path, verify_file
from pretrained.download import DownloadError, Progress
from pretrained.locations import OFFLINE_ENV, is_offline
from pretrained.registry import get_spec
from pretrained.resolve import (
    Origin,
    WeightsLocation,
    can_download,
    download_weights,
    weight_copies,
)
from pretrained.spec import ModelSpec, StateDict


class WeightsError(RuntimeError):
    """A weight file exists but cannot be used; the message names the file."""


@dataclass(frozen=True)
class WeightsInfo:
    trained: bool
    origin: Origin | None = None
    path: Path | None = None
    problem: str | None = None  # why the model is untrained, in words for the banner
    # Copies passed over before the one loaded (or before giving up), each with why.
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedModel:
    spec: ModelSpec
    model: torch.nn.Module
    weights: WeightsInfo
    device: torch.device


# A transformers architecture's configuration and network classes.
_TRANSFORMERS_CLASSES = {"detr": ("DetrConfig", "DetrForObjectDetection"),
                         "cvt": ("CvtConfig", "CvtForImageClassification")}


def build_model(spec: ModelSpec) -> torch.nn.Module:
    """The architecture with random weights, exactly as the checkpoint expects it. The random
    weights are seeded, so an untrained model is the same in every process (a notebook draws
    the page's figure) and the global generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if spec.framework == "torchvision":
            import torchvision

            return torchvision.models.get_model(spec.architecture, weights=None, **spec.build_kwargs)
        if spec.framework == "transformers":  # its configuration; DETR's timm backbone without weights
            import transformers

            config, network = _TRANSFORMERS_CLASSES[spec.architecture]
            return getattr(transformers, network)(getattr(transformers, config)(**spec.build_kwargs))
        import timm

        return timm.create_model(spec.architecture, pretrained=False, **spec.build_kwargs)


def read_state_dict(path: Path) -> StateDict:
    """Reads tensors only: safetensors, or torch.load with weights_only=True (no pickled code)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path} cannot be read as a checkpoint: {exc}") from exc
    # Some checkpoints wrap the tensors, e.g. {"state_dict": {...}} or {"model": {...}}.
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    return state


def _load_weights_into(model: torch.nn.Module, spec: ModelSpec, location: WeightsLocation) -> None:
    """Raises UnverifiedFile (the file is left alone) or WeightsError (the file is bad)."""
    weights = spec.weights
    path = location.path
    expected = expected_digest(path, weights.sha256)
    try:
        verify_file(path, expected)
    except (ValueError, OSError) as exc:
        raise WeightsError(str(exc)) from exc
    state = read_state_dict(path)
    try:
        if weights.convert is not None:
            state = weights.convert(state, model)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as exc:
        raise WeightsError(f"{path} does not fit {spec.title}: {exc}") from exc


def _quarantine(location: WeightsLocation) -> str:
    """Moves a bad file aside so no later load mistakes it for a good one."""
    if location.origin == "package":
        return "reinstall the package that ships it"
    real = location.path.resolve()
    try:
        real.replace(real.with_name(real.name + ".corrupt"))
        return f"it was renamed to {real.name}.corrupt; fetch it again"
    except OSError:
        return "delete it and fetch it again"


def _why_missing(spec: ModelSpec) -> str:
    if spec.weights is None:
        return f"{spec.title} has no published weights"
    if spec.weights.url is None:
        return f"{spec.weights.filename} was not found and has no download address"
    if is_offline():
        return f"{spec.weights.filename} is not on this machine and offline mode ({OFFLINE_ENV}=1) is on"
    return (
        f"{spec.weights.filename} is not downloaded yet "
        f"(Home page, or `python -m pretrained.fetch {spec.name}`)"
    )


def load_model(
    spec: ModelSpec | str,
    device: torch.device | str = "cpu",
    download: bool = False,
    progress: Progress | None = None,
) -> LoadedModel:
    """Builds the model, loads verified weights if they can be found (or
    downloaded, when `download` is set), and freezes it: eval mode, no grads.

    Never raises for missing or bad weights: the result says `trained=False`
    and why, so every page can show the untrained banner.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    model = build_model(spec)
    info = _attach_weights(model, spec, download, progress)
    if not info.trained:
        # A failed strict load may have copied some tensors already: start clean.
        model = build_model(spec)
        warnings.warn(f"{spec.title} runs with UNTRAINED weights: {info.problem}", stacklevel=2)
    model.eval().requires_grad_(False)
    device = torch.device(device)
    return LoadedModel(spec=spec, model=model.to(device), weights=info, device=device)


def _unverified(spec: ModelSpec, exc: UnverifiedFile, path: Path) -> str:
    return (
        f"{exc}, so it is not loaded (left in place). To use it, fetch the file with "
        f"`python -m pretrained.fetch {spec.name}`, which checks the download and records its digest, "
        f"or write the SHA-256 its publisher lists into {sidecar_path(path)}"
    )


def _try_copy(model: torch.nn.Module, spec: ModelSpec, location: WeightsLocation) -> str | None:
    """Loads one copy; None on success, else why it was passed over."""
    try:
        _load_weights_into(model, spec, location)
    except UnverifiedFile as exc:
        return _unverified(spec, exc, location.path)
    except WeightsError as exc:
        return f"{exc}; {_quarantine(location)}"
    return None


def _copies_then_download(
    spec: ModelSpec, download: bool, progress: Progress | None, skipped: list[str]
) -> Iterator[WeightsLocation]:
    """Every copy in the search order, then, if asked and allowed, a fresh download
    (a failed one adds its reason to `skipped`)."""
    yield from weight_copies(spec.weights)
    if download and can_download(spec.weights):
        try:
            yield download_weights(spec.weights, progress)
        except DownloadError as exc:
            skipped.append(str(exc))


def _attach_weights(
    model: torch.nn.Module, spec: ModelSpec, download: bool, progress: Progress | None
) -> WeightsInfo:
    """The first copy that verifies and fits is loaded: a bad or unverifiable one is reported
    and the next tried, as the README's order promises."""
    if spec.weights is None:
        return WeightsInfo(trained=False, problem=_why_missing(spec))
    skipped: list[str] = []
    for location in _copies_then_download(spec, download, progress, skipped):
        problem = _try_copy(model, spec, location)
        if problem is None:
            return WeightsInfo(trained=True, origin=location.origin, path=location.path,
                               skipped=tuple(skipped))
        warnings.warn(f"{spec.title}: passed over {problem}", stacklevel=3)
        skipped.append(problem)
    problem = " · ".join(skipped) if skipped else _why_missing(spec)
    return WeightsInfo(trained=False, problem=problem, skipped=tuple(skipped))
