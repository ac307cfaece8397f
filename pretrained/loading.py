"""Building a registry model and loading its weights, safely and frozen."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from pretrained.checksums import expected_digest, verify_file
from pretrained.download import DownloadError, Progress
from pretrained.locations import OFFLINE_ENV, is_offline
from pretrained.registry import get_spec
from pretrained.resolve import (
    Origin,
    WeightsLocation,
    can_download,
    download_weights,
    find_weights,
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


@dataclass(frozen=True)
class LoadedModel:
    spec: ModelSpec
    model: torch.nn.Module
    weights: WeightsInfo
    device: torch.device


def build_model(spec: ModelSpec) -> torch.nn.Module:
    """The architecture with random weights, exactly as the checkpoint expects it."""
    if spec.framework == "torchvision":
        import torchvision

        return torchvision.models.get_model(spec.architecture, weights=None, **spec.build_kwargs)
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
    weights = spec.weights
    path = location.path
    try:
        verify_file(path, expected_digest(path, weights.sha256))
    except ValueError as exc:
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


def _attach_weights(
    model: torch.nn.Module, spec: ModelSpec, download: bool, progress: Progress | None
) -> WeightsInfo:
    if spec.weights is None:
        return WeightsInfo(trained=False, problem=_why_missing(spec))
    location = find_weights(spec.weights)
    if location is None and download and can_download(spec.weights):
        try:
            location = download_weights(spec.weights, progress)
        except DownloadError as exc:
            return WeightsInfo(trained=False, problem=str(exc))
    if location is None:
        return WeightsInfo(trained=False, problem=_why_missing(spec))
    try:
        _load_weights_into(model, spec, location)
    except WeightsError as exc:
        return WeightsInfo(trained=False, path=location.path, problem=f"{exc}; {_quarantine(location)}")
    return WeightsInfo(trained=True, origin=location.origin, path=location.path)
