"""Trains the video page's five small networks on Moving Fashion-MNIST and writes them with a card.

    python -m recipes.train_motion_models [KEY ...]    # all five: about 25 minutes on 2 CPU cores

The same clips, seed and settings for every network; then their accuracy on the test clips. The
card is rebuilt from every file present (each records its own settings, accuracy and training
time), so one network can be trained again alone. The SHA-256 sums printed go into
pretrained/motion_models.py.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time

import torch

from app.video.motion_models import ARCHITECTURES
from app.video.moving_fashion import CLASSES, FRAMES, SIDE, SPLITS, clip_input, motion_clips
from pretrained.locations import PROJECT_CHECKPOINTS
from pretrained.motion_models import RECIPE, SHIPPED
from pretrained.shipped_files import write_shipped
from recipes.cosine_training import train_cosine

EPOCHS, BATCH, LEARNING_RATE, WEIGHT_DECAY, SEED = 5, 64, 2e-3, 1e-4, 0


@torch.inference_mode()
def accuracy(model: torch.nn.Module, clips: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    predicted = torch.cat([model(batch).argmax(dim=1) for batch in clips.split(250)])
    return float((predicted == labels).float().mean())


def card() -> str:
    from safetensors import safe_open

    lines = ["# Moving Fashion-MNIST networks", "",
             f"Trained by `python -m {RECIPE}` on {SPLITS['train'][0]:,} clips of {FRAMES} frames of {SIDE}×{SIDE} "
             f"px built from Fashion-MNIST's training images (seed {SPLITS['train'][1]}): a garment moving one of "
             f"eight ways or turning one of two, {len(CLASSES)} classes, the label the motion alone. Tested on "
             f"{SPLITS['test'][0]:,} clips from its test images (seed {SPLITS['test'][1]}). AdamW {LEARNING_RATE}, "
             f"weight decay {WEIGHT_DECAY}, cosine decay, batch {BATCH}, {EPOCHS} epochs, seed {SEED}, "
             f"cross-entropy; {platform.machine()}, {torch.get_num_threads()} torch threads, torch "
             f"{torch.__version__}. Chance is {1 / len(CLASSES):.0%}. The training times are the recipe's own "
             "clock: the 2D CNN's was taken while the test suite shared the two cores.", ""]
    for shipped in SHIPPED.values():
        file = PROJECT_CHECKPOINTS / shipped.filename
        if not file.is_file():
            continue
        with safe_open(str(file), framework="pt") as reader:
            metadata = reader.metadata()
            parameters = sum(reader.get_tensor(name).numel() for name in reader.keys()
                             if not name.endswith(("running_mean", "running_var", "num_batches_tracked")))
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        lines.append(f"- **{shipped.title}** (`{shipped.filename}`): {parameters:,} parameters, test accuracy "
                     f"{float(metadata['accuracy']):.2%}, {float(metadata['minutes']):.1f} min, "
                     f"{file.stat().st_size / 1e6:.2f} MB, sha256 `{digest}`")
    return "\n".join(lines) + "\n"


def main(keys: list[str]) -> None:
    train_clips, test_clips = motion_clips("train"), motion_clips("test")
    inputs, labels = clip_input(train_clips.clips), torch.from_numpy(train_clips.labels)
    test_inputs, test_labels = clip_input(test_clips.clips), torch.from_numpy(test_clips.labels)
    for key in keys or list(SHIPPED):
        shipped = SHIPPED[key]
        torch.manual_seed(SEED)
        model = ARCHITECTURES[key]()
        start = time.perf_counter()
        train_cosine(model, inputs, labels, EPOCHS, BATCH, LEARNING_RATE, WEIGHT_DECAY, SEED)
        minutes = (time.perf_counter() - start) / 60
        found = accuracy(model, test_inputs, test_labels)
        file = PROJECT_CHECKPOINTS / shipped.filename
        write_shipped(file, model.state_dict(), {"title": shipped.title, "settings": json.dumps({}),
                                                 "accuracy": repr(found), "minutes": f"{minutes:.2f}"})
        print(f"{key}: test accuracy {found:.2%} in {minutes:.1f} min; "
              f"sha256 {hashlib.sha256(file.read_bytes()).hexdigest()}", flush=True)
    (PROJECT_CHECKPOINTS / "motion_models.md").write_text(card())


if __name__ == "__main__":
    main(sys.argv[1:])
