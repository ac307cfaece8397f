"""Self-attention one step at a time, in the course's notation.

z ∈ R^{N×D} (the tokens a block's attention reads, after its layer norm) is projected by one
head's U_qkv ∈ R^{D×3D_h} into q, k, v ∈ R^{N×D_h}; the scores are q·kᵀ/√D_h, their row-wise
softmax is the attention A, and A·v is the head's output. The k heads' outputs side by side
(N × k·D_h) are projected by U_msa ∈ R^{k·D_h×D} back to N × D. The same arithmetic serves a
sentence of words and an image's patches, so the two read as the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True, eq=False)
class AttentionSteps:
    """Every intermediate tensor of one multi-head self-attention, with one head followed.

    The matrices are laid out as the course writes them (row vectors times weights), so
    `z @ u_qkv + b_qkv` gives [q k v] of the followed head.
    """

    head: int  # the followed head, from 0
    heads: int
    z: torch.Tensor  # (N, D)
    u_qkv: torch.Tensor  # (D, 3·D_h): the followed head's columns of the q, k, v projection
    b_qkv: torch.Tensor  # (3·D_h,)
    q: torch.Tensor  # (N, D_h)
    k: torch.Tensor
    v: torch.Tensor
    scores: torch.Tensor  # (N, N) q·kᵀ/√D_h
    attention: torch.Tensor  # (N, N) row-wise softmax of the scores
    head_output: torch.Tensor  # (N, D_h) A·v
    all_attention: torch.Tensor  # (k, N, N): every head's A, for the step that joins them
    concatenated: torch.Tensor  # (N, k·D_h) every head's A·v side by side
    u_msa: torch.Tensor  # (k·D_h, D)
    b_msa: torch.Tensor  # (D,)
    output: torch.Tensor  # (N, D) concatenated·U_msa + b

    @property
    def head_dim(self) -> int:
        return self.q.shape[1]

    @property
    def scale(self) -> float:
        return self.head_dim ** -0.5


def self_attention_steps(z: torch.Tensor, qkv: nn.Linear, proj: nn.Linear, heads: int, head: int) -> AttentionSteps:
    """Multi-head self-attention of `z` (N, D) with a fused q/k/v projection laid out as timm's
    and torch's (`qkv.weight` is (3·D, D): all heads' q rows, then all k rows, then all v rows)
    and an output projection `proj`; computed in float64 from the layers' weights."""
    tokens, width = z.shape
    if not 0 <= head < heads or width % heads:
        raise ValueError(f"head {head} of {heads} does not fit a width of {width}")
    head_dim = width // heads
    z64 = z.detach().double()
    weight = qkv.weight.detach().double().t()  # (D, 3D): columns [q heads | k heads | v heads]
    bias = qkv.bias.detach().double() if qkv.bias is not None else torch.zeros(3 * width, dtype=torch.float64)
    projected = (z64 @ weight + bias).reshape(tokens, 3, heads, head_dim)  # [q|k|v] × heads
    q_all, k_all, v_all = projected.permute(1, 2, 0, 3)  # each (heads, N, D_h)
    scores = q_all @ k_all.transpose(-2, -1) * head_dim ** -0.5
    attention = scores.softmax(dim=-1)
    mixed = attention @ v_all  # (heads, N, D_h)
    concatenated = mixed.permute(1, 0, 2).reshape(tokens, width)
    u_msa = proj.weight.detach().double().t()
    b_msa = proj.bias.detach().double() if proj.bias is not None else torch.zeros(width, dtype=torch.float64)
    columns = torch.cat([torch.arange(head_dim) + part * width + head * head_dim for part in range(3)])
    return AttentionSteps(
        head=head, heads=heads, z=z64, u_qkv=weight[:, columns], b_qkv=bias[columns],
        q=q_all[head], k=k_all[head], v=v_all[head], scores=scores[head], attention=attention[head],
        head_output=mixed[head], all_attention=attention, concatenated=concatenated, u_msa=u_msa, b_msa=b_msa,
        output=concatenated @ u_msa + b_msa,
    )
