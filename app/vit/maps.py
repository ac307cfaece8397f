"""Reading captured ViT attention: rollout, DINO's mass mask, attention distance."""

from __future__ import annotations

from typing import Literal

import torch

HeadFusion = Literal["mean", "max", "min"]


def attention_rollout(attentions: torch.Tensor, head_fusion: HeadFusion = "mean",
                      discard_ratio: float = 0.0) -> torch.Tensor:
    """Abnar & Zuidema (2020): how much each token at the output draws on each input token.

    Per layer: fuse the heads, optionally zero the weakest `discard_ratio` of
    the entries (never CLS→CLS), add the identity for the residual stream
    (0.5·A + 0.5·I), renormalise the rows; then multiply the layers, first
    layer rightmost. `attentions` is (layers, heads, N, N); returns (N, N).
    """
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), not {discard_ratio}")
    layers, _, tokens, _ = attentions.shape
    identity = torch.eye(tokens)
    result = identity.clone()
    for layer in range(layers):
        heads = attentions[layer].float()
        fused = {"mean": heads.mean(dim=0), "max": heads.amax(dim=0), "min": heads.amin(dim=0)}[head_fusion]
        if discard_ratio > 0:
            flat = fused.reshape(-1).clone()
            weakest = flat.topk(int(flat.numel() * discard_ratio), largest=False).indices
            flat[weakest[weakest != 0]] = 0
            fused = flat.reshape(tokens, tokens)
        mixed = 0.5 * fused + 0.5 * identity
        result = (mixed / mixed.sum(dim=-1, keepdim=True)) @ result
    return result


def mass_threshold_mask(maps: torch.Tensor, mass: float) -> torch.Tensor:
    """DINO's mask: per map (the last two dims), the smallest set of highest
    patches holding at least `mass` (0–1) of the map's total. Boolean, same shape."""
    flat = maps.reshape(-1, maps.shape[-2] * maps.shape[-1]).float()
    values, order = torch.sort(flat, dim=1)  # ascending, as in DINO's visualize_attention.py
    cumulative = torch.cumsum(values / values.sum(dim=1, keepdim=True), dim=1)
    kept_sorted = cumulative > (1 - mass)
    kept = torch.zeros_like(kept_sorted)
    kept.scatter_(1, order, kept_sorted)
    return kept.reshape(maps.shape)


def patch_distances(grid: tuple[int, int], patch_size: int) -> torch.Tensor:
    """(P, P) Euclidean distances in input pixels between patch centres."""
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    centres = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1).float() * patch_size
    return torch.cdist(centres, centres)


def mean_attention_distance(attentions: torch.Tensor, grid: tuple[int, int], patch_size: int,
                            prefix_tokens: int) -> torch.Tensor:
    """The ViT paper's Figure 7: per layer and head, the distance in input pixels
    over which a patch gathers information, weighted by its attention to the
    other patches (prefix tokens left out, the weights renormalised over the
    patches), averaged over the query patches. Returns (layers, heads)."""
    patches = attentions[:, :, prefix_tokens:, prefix_tokens:].float()  # (L, H, P, P)
    weights = patches / patches.sum(dim=-1, keepdim=True)
    return (weights * patch_distances(grid, patch_size)).sum(dim=-1).mean(dim=-1)
