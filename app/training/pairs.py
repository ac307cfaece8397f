"""What an A/B pair of live-training runs may change, and which changes apply to a config.

A change is offered only where it makes a different run: a network setting the
chosen network does not have (skip connections in LeNet-5) would train the same
run twice under two names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from app.training.augment import Augmentation
from app.training.loop import TrainingConfig, settled

PAIR_AUGMENTATION = Augmentation(crop=2, rotation=10, noise=0.05)  # mild: keeps every label right

AB_CHANGES: dict[str, Callable[[TrainingConfig], TrainingConfig]] = {
    "batch norm": lambda c: dataclasses.replace(c, batch_norm=not c.batch_norm),
    "dropout 0.5": lambda c: dataclasses.replace(c, dropout=0.5 if c.dropout != 0.5 else 0.0),
    "augmentation": lambda c: dataclasses.replace(
        c, augmentation=Augmentation() if c.augmentation.active else PAIR_AUGMENTATION),
    "optimizer: SGD": lambda c: dataclasses.replace(c, optimizer="SGD", learning_rate=0.05),
    "width ×2": lambda c: dataclasses.replace(c, width=c.width * 2),
    "skip connections": lambda c: dataclasses.replace(c, skip_connections=not c.skip_connections),
}


def pair_changes(config: TrainingConfig) -> list[str]:
    """The names of the AB_CHANGES that turn `config` into a different run."""
    return [name for name, change in AB_CHANGES.items() if settled(change(config)) != settled(config)]
