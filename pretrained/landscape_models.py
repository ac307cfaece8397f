"""Small networks trained by this project on Fashion-MNIST, shipped with their training
path, so the loss-landscape page has real networks offline (and Li et al.'s
comparisons: batch norm or not, skip connections or not).

    python -m recipes.train_landscape_models    # writes the files and their card

Each file holds the final weights (float32, buffers included), the parameters at
checkpoints along the path (float16) and the training settings; it is checked
against its SHA-256 and read with safetensors (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import torch

from pretrained.shipped_files import read_shipped


@dataclass(frozen=True)
class ShippedModel:
    key: str
    title: str
    filename: str
    sha256: str | None
    settings: dict  # TrainingConfig fields that differ from the defaults


SHIPPED = {m.key: m for m in (
    ShippedModel("lenet", "LeNet-5, no batch norm", "landscape_lenet.safetensors",
                 "de169c0418b8b17489dcb5ca0b129459326622ad938e673525b4d6b4be01c65c",
                 {"model": "LeNet-5", "batch_norm": False}),
    ShippedModel("lenet_bn", "LeNet-5, batch norm", "landscape_lenet_bn.safetensors",
                 "f88be0361e9f97716b7f5ab3bddf212d54576352920949f28436b7ba86d10bd5",
                 {"model": "LeNet-5", "batch_norm": True}),
    ShippedModel("resnet", "Small ResNet, skip connections", "landscape_resnet.safetensors",
                 "7ead21143827d272f2877a6e6ed5e00cfae8e44abfb77b754e6f0abf761d960e",
                 {"model": "Small ResNet", "batch_norm": True, "skip_connections": True}),
    ShippedModel("resnet_noskip", "Small ResNet, no skip connections", "landscape_resnet_noskip.safetensors",
                 "c03b245bfcc372b4e53e392ffc3b4d151050dc79ef2783843ec35aae53a46a61",
                 {"model": "Small ResNet", "batch_norm": True, "skip_connections": False}),
)}


@dataclass(frozen=True, eq=False)
class TrainedPath:
    """A trained network and where its training went."""

    title: str
    config_fields: dict  # the TrainingConfig it was trained with (as a dict)
    final: dict[str, torch.Tensor]  # full state dict, float32
    path: list[tuple[int, dict[str, torch.Tensor]]]  # (step, parameters) from the start to the end
    validation_accuracy: float


def save(path_file, title: str, config_fields: dict, final: dict, path: list, validation_accuracy: float) -> None:
    from safetensors.torch import save_file

    tensors = {f"final.{k}": v.float().contiguous() for k, v in final.items()}
    for index, (_, parameters) in enumerate(path):
        tensors.update({f"path.{index}.{k}": v.half().contiguous() for k, v in parameters.items()})
    metadata = {"title": title, "config": json.dumps(config_fields), "steps": json.dumps([s for s, _ in path]),
                "validation_accuracy": str(validation_accuracy)}
    save_file(tensors, str(path_file), metadata=metadata)


def load(key: str) -> TrainedPath:
    """Reads a shipped model, verified against its recorded SHA-256."""
    shipped = SHIPPED[key]
    metadata, tensors = read_shipped(shipped.filename, shipped.sha256, "recipes.train_landscape_models")
    final = {k.removeprefix("final."): v for k, v in tensors.items() if k.startswith("final.")}
    steps = json.loads(metadata["steps"])
    path = [(step, {k.split(".", 2)[2]: v.float() for k, v in tensors.items() if k.startswith(f"path.{i}.")})
            for i, step in enumerate(steps)]
    return TrainedPath(metadata["title"], json.loads(metadata["config"]), final, path,
                       float(metadata["validation_accuracy"]))


def config_fields_of(config) -> dict:
    """A TrainingConfig as plain values (its augmentation as a dict)."""
    return {f.name: (getattr(config, f.name).__dict__ if f.name == "augmentation" else getattr(config, f.name))
            for f in fields(config)}
