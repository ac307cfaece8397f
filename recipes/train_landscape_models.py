"""Trains the loss-landscape page's shipped networks on Fashion-MNIST and writes them.

    python -m recipes.train_landscape_models     # about 5 minutes on 2 CPU cores

LeNet-5 without and with batch norm, and a small ResNet with and without skip
connections (both with batch norm), each with its training path (10 checkpoints),
then a card. The SHA-256 sums printed go into pretrained/landscape_models.py.
"""

from __future__ import annotations

import hashlib
import time

import torch

from app.training.datasets import SOURCES, split
from app.training.loop import TrainingConfig, train
from pretrained.landscape_models import SHIPPED, config_fields_of, save
from pretrained.locations import PROJECT_CHECKPOINTS

EPOCHS = {"LeNet-5": 4, "Small ResNet": 2}


def main() -> None:
    torch.manual_seed(0)
    data = split(SOURCES["Fashion-MNIST"].load(), 2000, seed=0)
    lines = ["# Loss-landscape networks", "",
             "Trained by `python -m recipes.train_landscape_models` on Fashion-MNIST (58,000 training images, "
             "2,000 held out for validation, seed 0), Adam 1e-3, batch 128, no augmentation; 10 checkpoints of "
             "the parameters along the path (float16) and the final weights (float32).", ""]
    for shipped in SHIPPED.values():
        config = TrainingConfig(**shipped.settings, epochs=EPOCHS[shipped.settings["model"]], batch_size=128,
                                checkpoints=10, seed=0)
        start = time.perf_counter()
        result = train(config, data)
        seconds = time.perf_counter() - start
        accuracy = float(result.confusion.trace() / result.confusion.sum())
        parameters = {name for name, _ in result.model.named_parameters()}
        path = [(step, {k: v for k, v in state.items() if k in parameters}) for step, state in result.checkpoints]
        file = PROJECT_CHECKPOINTS / shipped.filename
        save(file, shipped.title, config_fields_of(config), result.model.state_dict(), path, accuracy)
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        lines.append(f"- **{shipped.title}** (`{shipped.filename}`): {config.epochs} epochs, {result.steps} steps, "
                     f"validation accuracy {accuracy:.2%}, {seconds:.0f} s, {file.stat().st_size / 1e6:.2f} MB, "
                     f"sha256 `{digest}`")
        print(f"{shipped.key}: {accuracy:.2%} in {seconds:.0f} s; sha256 {digest}")
    (PROJECT_CHECKPOINTS / "landscape_models.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
