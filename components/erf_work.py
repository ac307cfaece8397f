"""The effective receptive fields of the page's six networks on a set of images: one shared
background job per set (seconds per network on a CPU), reporting each network as it is done."""

from __future__ import annotations

import numpy as np
import torch

import pretrained
from app.atlas.erf import effective_receptive_field, layer_output
from app.atlas.erf_subjects import SUBJECTS, seeded
from app.preprocess import preprocess
from app.serving.background_jobs import JobSnapshot
from components.deferred_work import deferred

PREPROCESSING = "resnet50"  # the registry model whose ImageNet transform (224², centre crop) feeds them all


def erf_batch(pictures: list[np.ndarray]) -> torch.Tensor:
    spec = pretrained.get_spec(PREPROCESSING).preprocessing
    return torch.cat([preprocess(rgb, spec) for rgb in pictures])


def erf_maps(names: tuple[str, ...], pictures: list[np.ndarray]) -> JobSnapshot:
    """{subject key: (224, 224) ERF} over the pictures (named by `names`: the job's key)."""
    def work(report, should_stop) -> dict[str, np.ndarray]:
        batch, maps = erf_batch(pictures), {}
        for index, subject in enumerate(SUBJECTS):
            if should_stop():
                break
            measured = seeded(subject)
            maps[subject.key] = effective_receptive_field(layer_output(measured.model, measured.layer), batch,
                                                          measured.layout)
            report((index + 1) / len(SUBJECTS), dict(maps))
        return maps

    return deferred(("erf", names), work, f"Effective receptive fields over {len(names)} images", shared=True)
