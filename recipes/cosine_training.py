"""The training loop the project's dense and video recipes share: AdamW with cosine decay to zero,
cross-entropy, the examples in an order drawn from a seeded generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def train_cosine(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, epochs: int, batch: int,
                 learning_rate: float, weight_decay: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    steps = epochs * math.ceil(len(inputs) / batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    model.train()
    for _ in range(epochs):
        for indices in torch.randperm(len(inputs), generator=generator).split(batch):
            loss = F.cross_entropy(model(inputs[indices]), targets[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
