"""Trains the dense-prediction page's U-Nets on Fashion-MNIST scenes and writes them with a card.

    python -m recipes.train_segmentation_models     # about 20 minutes on 2 CPU cores

The same U-Net with and without skip connections, and with bilinear upsampling in place of
the transposed convolutions: the same seed, scenes and settings; then their scores on the test
scenes. The SHA-256 sums printed go into
pretrained/segmentation_models.py.
"""

from __future__ import annotations

import hashlib
import platform
import time

import torch

from app.segmentation.data import SIDE, SPLITS, fashion_scenes
from app.segmentation.evaluate import scores
from app.segmentation.unet import UNet
from app.training.fashion_mnist import to_input
from pretrained.locations import PROJECT_CHECKPOINTS
from pretrained.segmentation_models import SHIPPED, save
from recipes.cosine_training import train_cosine

EPOCHS, BATCH, LEARNING_RATE, WEIGHT_DECAY, SEED = 5, 32, 2e-3, 1e-4, 0


def train(model: torch.nn.Module) -> None:
    """Per-pixel cross-entropy on the training scenes (recipes.cosine_training)."""
    scenes = fashion_scenes("train")
    train_cosine(model, to_input(scenes.images), torch.from_numpy(scenes.masks).long(), EPOCHS, BATCH, LEARNING_RATE,
                 WEIGHT_DECAY, SEED)


def main() -> None:
    lines = ["# Fashion-MNIST scene U-Nets", "",
             f"Trained by `python -m recipes.train_segmentation_models` on {SPLITS['train'][0]:,} scenes of "
             f"{SIDE}×{SIDE} px built from Fashion-MNIST's training images (seed {SPLITS['train'][1]}: two to four "
             "garments each, overlaps allowed, eleven classes with the background), tested on "
             f"{SPLITS['test'][0]:,} scenes from its test images (seed {SPLITS['test'][1]}). AdamW {LEARNING_RATE}, "
             f"weight decay {WEIGHT_DECAY}, cosine decay, batch {BATCH}, {EPOCHS} epochs, seed {SEED}, per-pixel "
             f"cross-entropy; {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}.",
             ""]
    for shipped in SHIPPED.values():
        torch.manual_seed(SEED)
        model = UNet(**{k: tuple(v) if isinstance(v, list) else v for k, v in shipped.settings.items()})
        start = time.perf_counter()
        train(model)
        seconds = time.perf_counter() - start
        found = scores(model, fashion_scenes("test"))
        file = PROJECT_CHECKPOINTS / shipped.filename
        save(file, shipped.title, shipped.settings, model.state_dict(), found)
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        parameters = sum(p.numel() for p in model.parameters())
        lines.append(f"- **{shipped.title}** (`{shipped.filename}`): {parameters:,} parameters, test mIoU "
                     f"{found['miou']:.2%}, boundary F-score (1 px) {found['boundary_f']:.2%}, "
                     f"{seconds / 60:.1f} min, {file.stat().st_size / 1e6:.2f} MB, sha256 `{digest}`")
        print(f"{shipped.key}: mIoU {found['miou']:.2%}, boundary F {found['boundary_f']:.2%} in {seconds:.0f} s; "
              f"sha256 {digest}", flush=True)
    (PROJECT_CHECKPOINTS / "scenes_unets.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
