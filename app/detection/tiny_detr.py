"""A small DETR (Carion et al. 2020) for 64×64 Fashion-MNIST scenes, in the paper's layout: a
convolutional backbone to an 8×8 grid, a transformer encoder over those 64 tokens with learned
row and column position embeddings, a decoder whose object queries attend to each other and to
the encoder's tokens, and per query a class (or "no object") and a box (cx, cy, w, h as
fractions). Post-norm layers as in DETR; every decoder layer's output goes through the shared
final norm and heads, for the auxiliary losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

GARMENT_CLASSES = 10  # the no-object class is index 10


@dataclass(frozen=True)
class DetrSettings:
    classes: int = GARMENT_CLASSES
    queries: int = 10
    width: int = 96
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 3
    ffn: int = 192
    side: int = 64


@dataclass(frozen=True, eq=False)
class DetrOutput:
    logits: torch.Tensor  # (decoder layers, B, queries, classes + 1); the last layer's is the answer
    boxes: torch.Tensor  # (decoder layers, B, queries, 4) cx, cy, w, h in [0, 1]
    encoder_attention: torch.Tensor | None  # (encoder layers, B, heads, tokens, tokens)
    cross_attention: torch.Tensor | None  # (decoder layers, B, heads, queries, tokens)
    grid: tuple[int, int]


def _conv(inputs: int, outputs: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU())


class EncoderLayer(nn.Module):
    def __init__(self, s: DetrSettings):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(s.width, s.heads, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(s.width), nn.LayerNorm(s.width)
        self.mlp = nn.Sequential(nn.Linear(s.width, s.ffn), nn.ReLU(), nn.Linear(s.ffn, s.width))

    def forward(self, x, position, keep: bool):
        with_position = x + position  # positions go to queries and keys, not to values
        mixed, attention = self.self_attn(with_position, with_position, x, need_weights=keep,
                                          average_attn_weights=False)
        x = self.norm1(x + mixed)
        return self.norm2(x + self.mlp(x)), attention


class DecoderLayer(nn.Module):
    def __init__(self, s: DetrSettings):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(s.width, s.heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(s.width, s.heads, batch_first=True)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(s.width), nn.LayerNorm(s.width), nn.LayerNorm(s.width)
        self.mlp = nn.Sequential(nn.Linear(s.width, s.ffn), nn.ReLU(), nn.Linear(s.ffn, s.width))

    def forward(self, target, query_position, memory, position, keep: bool):
        with_position = target + query_position
        mixed, _ = self.self_attn(with_position, with_position, target, need_weights=False)
        target = self.norm1(target + mixed)
        mixed, attention = self.cross_attn(target + query_position, memory + position, memory, need_weights=keep,
                                           average_attn_weights=False)
        target = self.norm2(target + mixed)
        return self.norm3(target + self.mlp(target)), attention


class TinyDetr(nn.Module):
    def __init__(self, settings: DetrSettings = DetrSettings()):
        super().__init__()
        s = self.settings = settings
        self.backbone = nn.Sequential(_conv(1, 32, 2), _conv(32, 64, 2), _conv(64, 128, 2))
        self.input_proj = nn.Conv2d(128, s.width, 1)
        grid = s.side // 8
        self.row_embed = nn.Embedding(grid, s.width // 2)
        self.col_embed = nn.Embedding(grid, s.width - s.width // 2)
        self.encoder = nn.ModuleList(EncoderLayer(s) for _ in range(s.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(s) for _ in range(s.decoder_layers))
        self.decoder_norm = nn.LayerNorm(s.width)
        self.query_embed = nn.Embedding(s.queries, s.width)
        self.class_head = nn.Linear(s.width, s.classes + 1)
        self.box_head = nn.Sequential(nn.Linear(s.width, s.width), nn.ReLU(), nn.Linear(s.width, s.width), nn.ReLU(),
                                      nn.Linear(s.width, 4))

    def position(self, grid: tuple[int, int]) -> torch.Tensor:
        """(h·w, width): row embedding and column embedding side by side, row-major."""
        rows = self.row_embed.weight[: grid[0], None, :].expand(-1, grid[1], -1)
        cols = self.col_embed.weight[None, : grid[1], :].expand(grid[0], -1, -1)
        return torch.cat([rows, cols], dim=-1).reshape(grid[0] * grid[1], -1)

    def forward(self, images: torch.Tensor, keep_attention: bool = False) -> DetrOutput:
        """images (B, 1, side, side), normalised."""
        features = self.input_proj(self.backbone(images))  # (B, width, h, w)
        grid = tuple(features.shape[-2:])
        memory = features.flatten(2).transpose(1, 2)  # (B, h·w, width)
        position = self.position(grid)[None]
        encoder_attention, cross_attention, outputs = [], [], []
        for layer in self.encoder:
            memory, attention = layer(memory, position, keep_attention)
            encoder_attention.append(attention)
        query_position = self.query_embed.weight[None].expand(images.shape[0], -1, -1)
        target = torch.zeros_like(query_position)
        for layer in self.decoder:
            target, attention = layer(target, query_position, memory, position, keep_attention)
            cross_attention.append(attention)
            outputs.append(self.decoder_norm(target))
        decoded = torch.stack(outputs)
        return DetrOutput(self.class_head(decoded), self.box_head(decoded).sigmoid(),
                          torch.stack(encoder_attention) if keep_attention else None,
                          torch.stack(cross_attention) if keep_attention else None, grid)
