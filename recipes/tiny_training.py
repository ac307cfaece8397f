"""Training the project's own small models on Fashion-MNIST, reproducibly, on a CPU.

Used by `python -m recipes.train_tiny_vit` (and the other tiny models): a
fixed seed, a plain AdamW + cosine loop, light augmentation, then a safetensors
checkpoint and a card with the data, settings, test accuracy and time.
"""

from __future__ import annotations

import hashlib
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from app.training.fashion_mnist import load_fashion_mnist, to_input


@dataclass(frozen=True)
class TrainingSettings:
    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    seed: int = 0


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 px (pad and crop) and horizontal flips: clothes stay clothes."""
    padded = F.pad(batch, (2, 2, 2, 2), value=float(batch.min()))
    dy, dx = torch.randint(0, 5, (2,), generator=generator).tolist()
    shifted = padded[..., dy: dy + 28, dx: dx + 28]
    flip = torch.rand(batch.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], shifted.flip(-1), shifted)


@torch.inference_mode()
def test_accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(to_input(images[start: start + batch_size]))
        correct += int((logits.argmax(1) == torch.from_numpy(labels[start: start + batch_size].copy())).sum())
    return correct / len(images)


def train_on_fashion_mnist(model: torch.nn.Module, settings: TrainingSettings,
                           log: Callable[[str], None] = print) -> tuple[float, float]:
    """Trains in place; returns (test accuracy, seconds)."""
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    images, labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    inputs, targets = to_input(images), torch.from_numpy(labels.copy())
    steps_per_epoch = math.ceil(len(inputs) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    warmup = settings.warmup_epochs * steps_per_epoch
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / total_steps)))
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        running = 0.0
        for step in range(steps_per_epoch):
            index = order[step * settings.batch_size: (step + 1) * settings.batch_size]
            logits = model(_augment(inputs[index], generator))
            loss = F.cross_entropy(logits, targets[index], label_smoothing=settings.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item()
        accuracy = test_accuracy(model, test_images, test_labels)
        log(f"epoch {epoch + 1}/{settings.epochs}: train loss {running / steps_per_epoch:.4f}, "
            f"test accuracy {accuracy:.2%}, {time.perf_counter() - start:.0f} s")
    return test_accuracy(model, test_images, test_labels), time.perf_counter() - start


def save_with_card(model: torch.nn.Module, checkpoint: Path, card: dict[str, object], description: str) -> str:
    """Writes the weights (safetensors) and a Markdown card beside them; returns the SHA-256."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(checkpoint))
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    lines = [f"# {checkpoint.name}", "", description, ""]
    lines += [f"- **{key}**: {value}" for key, value in {**card, "sha256": digest,
              "size": f"{checkpoint.stat().st_size / 1e6:.2f} MB",
              "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
              "torch": torch.__version__}.items()]
    checkpoint.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return digest


def settings_card(settings: TrainingSettings) -> dict[str, object]:
    return {"data": "Fashion-MNIST, 60,000 training and 10,000 test images (Debian dataset-fashion-mnist)",
            "augmentation": "random shifts of up to 2 px, horizontal flips",
            "optimizer": "AdamW with linear warm-up and cosine decay, cross-entropy with label smoothing",
            **asdict(settings)}
