"""A/B pairs offer only what changes the run, and runs are labelled only by what really differs."""

import dataclasses

import pytest
import torch

from app.training.datasets import SOURCES, SplitSummary, split
from app.training.figures import difference_labels
from app.training.loop import StepMetric, TrainingConfig, train
from app.training.networks import NETWORKS, build
from app.training.pairs import AB_CHANGES, pair_changes

DIGITS = "Digits (8×8, scikit-learn)"
NETWORK_FIELDS = ("batch_norm", "dropout", "width", "skip_connections")
BASES = [TrainingConfig(), TrainingConfig(batch_norm=True, dropout=0.5, width=0.5, skip_connections=False)]


def built_differently(name: str, a: TrainingConfig, b: TrainingConfig) -> bool:
    """The oracle: build both networks from one seed and compare their structure,
    parameter count and (training-mode) output on one batch."""
    def network(config):
        torch.manual_seed(0)
        return build(name, (1, 28, 28), 10, config.batch_norm, config.dropout, config.width, config.skip_connections)

    first, second = network(a), network(b)
    if repr(first) != repr(second):
        return True
    if sum(p.numel() for p in first.parameters()) != sum(p.numel() for p in second.parameters()):
        return True
    batch = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    outputs = []
    for model in (first, second):
        torch.manual_seed(2)  # the same dropout masks where the rates agree
        outputs.append(model(batch))
    return not torch.equal(*outputs)


@pytest.mark.parametrize("name", NETWORKS)
def test_network_changes_are_offered_exactly_when_they_change_the_built_network(name):
    for base in BASES:
        base = dataclasses.replace(base, model=name)
        offered = set(pair_changes(base))
        for change, apply in AB_CHANGES.items():
            changed = apply(base)
            if any(getattr(changed, f) != getattr(base, f) for f in NETWORK_FIELDS):
                assert (change in offered) == built_differently(name, base, changed), (name, base, change)
    assert ("skip connections" in pair_changes(TrainingConfig(model=name))) == (name == "Small ResNet")


@pytest.fixture(scope="module")
def tiny_split():
    return split(SOURCES[DIGITS].load(), 40, seed=0, train_subset=64)


def losses(config: TrainingConfig, data) -> list[float]:
    seen = []
    train(config, data, lambda m: seen.append(m.loss) if isinstance(m, StepMetric) else None)
    return seen


def test_training_changes_are_offered_exactly_when_the_pair_trains_differently(tiny_split):
    for base in (TrainingConfig(model="MLP", epochs=1, batch_size=32),
                 TrainingConfig(model="MLP", epochs=1, batch_size=32, optimizer="SGD", learning_rate=0.05)):
        for change in ("optimizer: SGD", "augmentation"):
            trains_differently = losses(base, tiny_split) != losses(AB_CHANGES[change](base), tiny_split)
            assert (change in pair_changes(base)) == trains_differently, (base.optimizer, change)


def test_labels_name_only_settings_that_differ_and_that_the_network_has():
    data = [SplitSummary(DIGITS, 1000, 500)] * 2
    for name in NETWORKS:
        base = TrainingConfig(model=name)
        for change in pair_changes(base):
            labels = difference_labels([base, AB_CHANGES[change](base)], data)
            assert labels[0] != labels[1], (name, change)
            assert not any("skips" in label for label in labels) or name == "Small ResNet"
    # Two MLPs that differ only in a setting an MLP does not have are the same run: not "skips" / "no skips".
    same = difference_labels([TrainingConfig(model="MLP"), TrainingConfig(model="MLP", skip_connections=False)], data)
    assert same[0] == same[1] and "skips" not in same[0]
    mixed = difference_labels([TrainingConfig(model="MLP"), TrainingConfig(model="Small ResNet", skip_connections=False)],
                              data)
    assert mixed == ["MLP", "Small ResNet, no skips"]


def test_labels_name_the_data_when_it_differs():
    config = TrainingConfig()
    labels = difference_labels([config, config], [SplitSummary("Fashion-MNIST", 1000, 500),
                                                  SplitSummary(DIGITS, 1000, 500)])
    assert labels == ["Fashion-MNIST", DIGITS]
    labels = difference_labels([config, config], [SplitSummary(DIGITS, 1000, 500), SplitSummary(DIGITS, 1297, 500)])
    assert labels == ["1,000 train images", "1,297 train images"]
    assert "Digits" not in " ".join(difference_labels([config, TrainingConfig(batch_norm=True)],
                                                      [SplitSummary(DIGITS, 1000, 500)] * 2))
