"""The one registry of models, in the manner of torchvision's `get_model`."""

from __future__ import annotations

from pretrained.spec import Family, ModelSpec

_SPECS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Adds `spec` under its name; a second spec with the same name is a bug."""
    if spec.name in _SPECS:
        raise ValueError(f"model {spec.name!r} is already registered")
    _SPECS[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    try:
        return _SPECS[name]
    except KeyError:
        known = ", ".join(sorted(_SPECS))
        raise KeyError(f"unknown model {name!r}; known models: {known}") from None


def list_specs(family: Family | None = None) -> list[ModelSpec]:
    """Specs in registration order (the zoo's teaching order), optionally one family."""
    return [s for s in _SPECS.values() if family is None or s.family == family]
