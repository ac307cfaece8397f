"""Trains the small DETR on Fashion-MNIST detection scenes and writes its checkpoint and card.

    python -m recipes.train_tiny_detr [STEPS]    # 4,000 steps: about 15 minutes on 2 CPU cores

Every step draws a fresh batch of scenes from Fashion-MNIST's training images (the seed is the
step), so the network never sees a scene twice; then mAP@0.5 on 1,000 scenes built from its test
images. The SHA-256 printed goes into pretrained/detection_models.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
import time
from dataclasses import asdict

import numpy as np
import torch

from app.detection.average_precision import mean_average_precision
from app.detection.detr_loss import set_loss
from app.detection.predict import detections, scene_input
from app.detection.scenes import TEST_SCENES, TEST_SEED, TRAINING_BATCH, make_detection_scenes
from app.detection.tiny_detr import DetrSettings, TinyDetr
from app.training.fashion_mnist import load_fashion_mnist
from pretrained.detection_models import RECIPE, SHIPPED
from pretrained.locations import PROJECT_CHECKPOINTS
from pretrained.shipped_files import write_shipped

STEPS, LEARNING_RATE, WEIGHT_DECAY, CLIP, SEED, WARMUP = 4_000, 4e-4, 1e-4, 0.1, 0, 500
BATCH = TRAINING_BATCH


@torch.inference_mode()
def test_map(model: TinyDetr, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    scenes = make_detection_scenes(images, labels, TEST_SCENES, TEST_SEED)
    found = []
    for start in range(0, TEST_SCENES, 200):
        output = model(scene_input(scenes.images[start: start + 200]))
        found += detections(output.logits[-1], output.boxes[-1], model.settings.side)
    return mean_average_precision(found, list(zip(scenes.boxes, scenes.classes)), model.settings.classes)[0]


def main(steps: int) -> None:
    torch.manual_seed(SEED)
    images, labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    settings = DetrSettings()
    model = TinyDetr(settings)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / WARMUP) * 0.5 * (
        1 + math.cos(math.pi * min(step, steps) / steps)))
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        scenes = make_detection_scenes(images, labels, BATCH, seed=SEED * 1_000_003 + step)
        classes, boxes = zip(*(scenes.targets(i) for i in range(len(scenes))))
        output = model(scene_input(scenes.images))
        loss = sum(set_loss(logits, predicted, classes, boxes)
                   for logits, predicted in zip(output.logits, output.boxes))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        schedule.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f} ({(time.perf_counter() - start) / 60:.1f} min)", flush=True)
        if step % 2000 == 1999 and step < steps - 1:
            print(f"  test mAP@0.5 so far: {test_map(model, test_images, test_labels):.3f}", flush=True)
            model.train()
    minutes = (time.perf_counter() - start) / 60
    found = test_map(model, test_images, test_labels)
    shipped = SHIPPED
    file = PROJECT_CHECKPOINTS / shipped.filename
    write_shipped(file, model.state_dict(), {"settings": json.dumps(asdict(settings)), "map50": repr(found),
                                             "minutes": f"{minutes:.2f}", "steps": str(steps)})
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    parameters = sum(p.numel() for p in model.parameters())
    (PROJECT_CHECKPOINTS / "tiny_detr_fmnist.md").write_text(
        f"# {shipped.filename}\n\nA small DETR trained by this project on Fashion-MNIST detection scenes, so the "
        "transformer page shows a really trained DETR offline: 64×64 canvases with one to three garments whose boxes "
        "are known by construction (app/detection/scenes.py).\n\n"
        f"- **architecture**: app.detection.tiny_detr.TinyDetr with {asdict(settings)}\n"
        f"- **parameters**: {parameters:,}\n"
        f"- **data**: a fresh batch of {BATCH} scenes per step from Fashion-MNIST's 60,000 training images (seed = "
        f"the step); tested on {TEST_SCENES:,} scenes from its 10,000 test images (seed {TEST_SEED})\n"
        f"- **loss**: DETR's set loss (Hungarian matching; cross-entropy with no-object weight 0.1, 5 × L1, 2 × GIoU), "
        "on every decoder layer\n"
        f"- **optimizer**: AdamW {LEARNING_RATE}, weight decay {WEIGHT_DECAY}, {WARMUP} warm-up steps then cosine "
        f"decay, gradients clipped at {CLIP}, {steps:,} steps, seed {SEED}\n"
        f"- **test mAP@0.5**: {found:.3f} (Pascal VOC's all-point AP, mean over the ten classes)\n"
        f"- **training time**: {minutes:.1f} min\n"
        f"- **command**: python -m {RECIPE}\n"
        f"- **sha256**: {digest}\n"
        f"- **size**: {file.stat().st_size / 1e6:.2f} MB\n"
        f"- **machine**: {platform.machine()}, {torch.get_num_threads()} torch threads\n"
        f"- **torch**: {torch.__version__}\n")
    print(f"test mAP@0.5 {found:.3f} in {minutes:.1f} min; sha256 {digest}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else STEPS)
