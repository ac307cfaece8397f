"""Trains the tiny ViT on Fashion-MNIST and writes its checkpoint and card.

    python -m recipes.train_tiny_vit      # about 9 minutes on 2 CPU cores

The registry entry `tiny_vit_fmnist` loads the result from pretrained/checkpoints/.
"""

from __future__ import annotations

import torch

from pretrained.loading import build_model
from pretrained.locations import PROJECT_CHECKPOINTS
from pretrained.registry import get_spec
from recipes.tiny_training import TrainingSettings, save_with_card, settings_card, train_on_fashion_mnist

DESCRIPTION = ("A small Vision Transformer trained by this project, so the attention page has a really "
               "trained model offline: 28×28 grey images, 4×4 patches (49 tokens + CLS).")


def main(name: str = "tiny_vit_fmnist", description: str = DESCRIPTION) -> None:
    spec = get_spec(name)
    settings = TrainingSettings()
    torch.manual_seed(settings.seed)
    model = build_model(spec)
    accuracy, seconds = train_on_fashion_mnist(model, settings)
    card = {"architecture": f"timm {spec.architecture} with {dict(spec.build_kwargs)}",
            "parameters": f"{spec.num_params:,}", **settings_card(settings),
            "test accuracy": f"{accuracy:.2%}", "training time": f"{seconds / 60:.1f} min",
            "command": f"python -m pretrained.train_{name.removesuffix('_fmnist')}"}
    digest = save_with_card(model, PROJECT_CHECKPOINTS / spec.weights.filename, card, description)
    print(f"test accuracy {accuracy:.2%} in {seconds:.0f} s; sha256 {digest}")


if __name__ == "__main__":
    main()
