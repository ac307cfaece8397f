"""The one registry of models, in the manner of torchvision's `get_model`."""

from __future__ import annotations

from importlib import import_module

from pretrained.spec import Family, ModelSpec

_SPECS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Adds `spec` under its name; a second spec with the same name is a bug."""
    if spec.name in _SPECS:
        raise ValueError(f"model {spec.name!r} is already registered")
    _SPECS[spec.name] = spec
    return spec


def _zoo_registered() -> None:
    # The zoo imports timm and torchvision; it is loaded when a spec is first asked for,
    # not when the package is imported (see pretrained/__init__.py).
    import_module("pretrained.zoo")


def get_spec(name: str) -> ModelSpec:
    _zoo_registered()
    try:
        return _SPECS[name]
    except KeyError:
        known = ", ".join(sorted(_SPECS))
        raise KeyError(f"unknown model {name!r}; known models: {known}") from None


def list_specs(family: Family | None = None) -> list[ModelSpec]:
    """Specs in registration order (the zoo's teaching order), optionally one family."""
    _zoo_registered()
    return [s for s in _SPECS.values() if family is None or s.family == family]
