"""The course's sentence, "LSC is the best!", through one multi-head self-attention: the same
arithmetic as on an image's patches, on five word tokens with a small embedding.

The embedding and the projections are seeded random numbers, not learned: the example shows
what self-attention computes, not what a language model knows. Positions are the sinusoids of
Vaswani et al. (2017), added to the word vectors as ViT adds its position embedding to patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from app.transformer.attention_steps import AttentionSteps, self_attention_steps

SENTENCE = ("LSC", "is", "the", "best", "!")


@dataclass(frozen=True, eq=False)
class SentenceWalkthrough:
    words: tuple[str, ...]
    embedding: torch.Tensor  # (N, D) each word's vector
    position: torch.Tensor  # (N, D) sinusoidal positions
    steps: AttentionSteps  # on embedding + position


def sinusoidal_positions(tokens: int, width: int) -> torch.Tensor:
    """(tokens, width): sin at even, cos at odd dimensions, wavelengths 2π … 10000·2π."""
    position = torch.arange(tokens, dtype=torch.float64)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, width, 2, dtype=torch.float64) / width)
    table = torch.zeros(tokens, width, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : width // 2]
    return table


def sentence_layers(width: int, seed: int) -> tuple[nn.Embedding, nn.Linear, nn.Linear]:
    """The word embedding and the attention's projections, from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    embedding = nn.Embedding(len(SENTENCE), width)
    qkv, proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
    with torch.no_grad():
        for parameter in (embedding.weight, qkv.weight, qkv.bias, proj.weight, proj.bias):
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.7)
    return embedding, qkv, proj


def sentence_attention(head: int = 0, width: int = 4, heads: int = 2, seed: int = 0) -> SentenceWalkthrough:
    embedding, qkv, proj = sentence_layers(width, seed)
    vectors = embedding.weight.detach().double()
    position = sinusoidal_positions(len(SENTENCE), width)
    return SentenceWalkthrough(SENTENCE, vectors, position,
                               self_attention_steps(vectors + position, qkv, proj, heads, head))
