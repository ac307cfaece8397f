"""One row per registry model: what the Home page's zoo table shows."""

from __future__ import annotations

from dataclasses import dataclass

from pretrained.registry import list_specs
from pretrained.resolve import WeightsStatus, weights_status
from pretrained.spec import ModelSpec


@dataclass(frozen=True)
class ZooRow:
    spec: ModelSpec
    status: WeightsStatus

    def as_dict(self) -> dict[str, object]:
        weights = self.spec.weights
        # Whether it works next to the name; the long provenance last, where it may be cut.
        return {
            "Model": self.spec.title,
            "Weights": self.status.value,
            "Family": self.spec.family.upper() if self.spec.family in ("cnn", "mlp") else self.spec.family,
            "Parameters (M)": round(self.spec.num_params / 1e6, 1),
            "Size (MB)": weights.size_mb if weights else None,
            "About": self.spec.summary,
            "Source": weights.source_note if weights else "none",
        }


def zoo_overview() -> list[ZooRow]:
    """What works first: offline-ready, then cached, downloadable and untrained models,
    each group in the registry's teaching order (the sort is stable)."""
    order = list(WeightsStatus)
    rows = [ZooRow(spec, weights_status(spec)) for spec in list_specs()]
    return sorted(rows, key=lambda row: order.index(row.status))
