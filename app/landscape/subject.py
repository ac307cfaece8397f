"""What a loss landscape is drawn for: a trained network, its training path and its data."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from app.landscape.grid import EvaluationSet, Weights, parameters_of
from app.training.augment import Augmentation
from app.training.datasets import Split
from app.training.loop import TrainingConfig, TrainingResult
from app.training.networks import build


@dataclass(frozen=True, eq=False)
class TrainedNetwork:
    key: str
    title: str
    batch_norm: bool
    template: torch.nn.Module  # the final weights and buffers loaded, eval mode, frozen; never run directly
    final: Weights
    path: list[Weights]  # parameters at each checkpoint, the last being the final weights
    steps: list[int]
    validation: EvaluationSet  # where the surface is measured
    training: EvaluationSet  # the whole training set: what Li et al. measure every point on

    def network(self) -> torch.nn.Module:
        """A private copy to evaluate with. `functional_call` swaps a module's parameters
        while it runs, so two threads (a grid job and a page, or two sessions sharing a
        cached subject) on one module read each other's weights: measured, grids came
        out wrong by orders of magnitude."""
        return copy.deepcopy(self.template)

    def evaluation(self, size: int | None) -> EvaluationSet:
        """The first `size` validation images (all of them for None)."""
        if size is None or size >= len(self.validation):
            return self.validation
        return EvaluationSet(self.validation.images[:size], self.validation.labels[:size])


def _model(config: TrainingConfig, data: Split, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    model = build(config.model, tuple(data.train_x.shape[1:]), len(data.classes), config.batch_norm,
                  config.dropout, config.width, config.skip_connections)
    model.load_state_dict(state)
    return model.to(data.val_x.device).eval().requires_grad_(False)


def subject_from_run(key: str, title: str, config: TrainingConfig, result: TrainingResult, data: Split) -> TrainedNetwork:
    model = _model(config, data, result.model.state_dict())
    path = [{k: v.to(data.val_x.device) for k, v in parameters_of(state, model).items()}
            for _, state in result.checkpoints]
    return TrainedNetwork(key, title, config.batch_norm, model, parameters_of(model.state_dict(), model), path,
                   [step for step, _ in result.checkpoints], EvaluationSet(data.val_x, data.val_y),
                   EvaluationSet(data.train_x, data.train_y))


def subject_from_fields(key: str, title: str, config_fields: dict, final: dict[str, torch.Tensor],
                        path: list[tuple[int, dict[str, torch.Tensor]]], data: Split) -> TrainedNetwork:
    """For a network shipped with its path (pretrained.landscape_models)."""
    fields = dict(config_fields)
    fields["augmentation"] = Augmentation(**fields.get("augmentation", {}))
    config = TrainingConfig(**fields)
    model = _model(config, data, final)
    device = data.val_x.device
    return TrainedNetwork(key, title, config.batch_norm, model, parameters_of(model.state_dict(), model),
                   [{k: v.to(device) for k, v in p.items()} for _, p in path], [s for s, _ in path],
                   EvaluationSet(data.val_x, data.val_y), EvaluationSet(data.train_x, data.train_y))
