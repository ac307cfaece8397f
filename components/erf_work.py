"""The effective receptive fields of the page's six networks on a set of images: shared background
jobs (seconds per network on a CPU) that report each network as it is done; the same for the
trained weights that are on this machine; and the theoretical fields, traced once per server."""

from __future__ import annotations

import numpy as np
import torch

import pretrained
from app.atlas.erf import module_erf
from app.atlas.erf_subjects import SUBJECTS, ErfSubject, seeded
from app.atlas.stage_fields import boxes_in_child
from app.preprocess import preprocess
from app.serving.background_jobs import JobSnapshot
from components.deferred_work import deferred

PREPROCESSING = "resnet50"  # the registry model whose ImageNet transform (224², centre crop) feeds the untrained


def erf_batch(pictures: list[np.ndarray], registry: str = PREPROCESSING) -> torch.Tensor:
    spec = pretrained.get_spec(registry).preprocessing
    return torch.cat([preprocess(rgb, spec) for rgb in pictures])


def erf_maps(names: tuple[str, ...], pictures: list[np.ndarray], stage: int) -> JobSnapshot:
    """{subject key: (224, 224) ERF} of every subject's `stage` with seeded random weights, over
    the pictures (named by `names`: the job's key)."""
    def work(report, should_stop) -> dict[str, np.ndarray]:
        batch, maps = erf_batch(pictures), {}
        for index, subject in enumerate(SUBJECTS):
            if should_stop():
                break
            maps[subject.key] = module_erf(seeded(subject), subject.stages[stage], batch, subject.layout)
            report((index + 1) / len(SUBJECTS), dict(maps))
        return maps

    return deferred(("erf", names, stage), work, f"Effective receptive fields over {len(names)} images", shared=True)


def with_trained_weights() -> list[ErfSubject]:
    """The subjects whose trained weights are on this machine (nothing is downloaded here)."""
    return [s for s in SUBJECTS if s.trained is not None
            and pretrained.weights_status(pretrained.get_spec(s.trained.registry)).is_here]


def trained_model(registry: str) -> torch.nn.Module | None:
    """The registry's model with its verified weights, or None if they no longer load."""
    loaded = pretrained.load_model(registry, "cpu")
    return loaded.model if loaded.weights.trained else None


def trained_maps(names: tuple[str, ...], pictures: list[np.ndarray], stage: int,
                 subjects: list[ErfSubject]) -> JobSnapshot:
    """{subject key: ERF} of `stage` with trained weights, each fed its own preprocessing."""
    def work(report, should_stop) -> dict[str, np.ndarray]:
        maps = {}
        for index, subject in enumerate(subjects):
            if should_stop():
                break
            model = trained_model(subject.trained.registry)
            if model is not None:
                batch = erf_batch(pictures, subject.trained.registry)
                maps[subject.key] = module_erf(model, subject.trained.stages[stage], batch, subject.layout)
            del model
            report((index + 1) / len(subjects), dict(maps))
        return maps

    keys = tuple((s.key, pretrained.weights_fingerprint(pretrained.get_spec(s.trained.registry))) for s in subjects)
    return deferred(("erf trained", names, stage, keys), work, f"Trained receptive fields over {len(names)} images",
                    shared=True)


def stage_boxes() -> JobSnapshot:
    """{subject key: [centre unit's theoretical field box or None, per stage]}, once per server."""
    def work(report, should_stop) -> dict[str, list]:
        boxes = {}
        for key, per_stage in boxes_in_child([s.key for s in SUBJECTS]):
            boxes[key] = per_stage
            if should_stop():
                break
        return boxes

    return deferred(("erf boxes",), work, "Tracing the theoretical receptive fields", shared=True, wait_s=0.2)
