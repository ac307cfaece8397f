"""Self-attention on an image, from the pixels: patches → flattened patch vectors → their
embedding, plus the position embedding → the tokens a chosen block reads → one head's steps.

Everything before the chosen block is the model's own forward (timm's blocks, unchanged); the
chosen block's attention is then recomputed step by step (`attention_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from app.serving.model_lock import shared_use
from app.transformer.attention_steps import AttentionSteps, self_attention_steps
from app.vit.capture import check_supported, embed, patch_size_of, position_embedding, prefix_token_names


@dataclass(frozen=True, eq=False)
class ImageWalkthrough:
    patches: torch.Tensor  # (P, C·p·p): each patch's pixels (normalised), flattened channel by channel
    patch_embedding: torch.Tensor  # (P, D): the patches times E, plus its bias
    position: torch.Tensor  # (P or N, D): E_pos, resampled to this grid
    block_input: torch.Tensor  # (N, D): z_{l−1}, the residual stream entering the chosen block
    steps: AttentionSteps  # on the block's layer norm of z_{l−1}
    library_output: torch.Tensor  # (N, D): the same attention as timm's module computes it (fused kernel)
    layer: int  # the chosen block, from 1
    grid: tuple[int, int]
    patch_size: int
    prefix_tokens: int
    token_names: tuple[str, ...]

    def token_of_patch(self, row: int, col: int) -> int:
        return self.prefix_tokens + row * self.grid[1] + col


def _token_names(model: VisionTransformer, grid: tuple[int, int]) -> tuple[str, ...]:
    prefix = prefix_token_names(model.cls_token is not None, model.num_prefix_tokens)
    return (*prefix, *(f"patch ({r}, {c})" for r in range(grid[0]) for c in range(grid[1])))


def walk_through(model: VisionTransformer, batch: torch.Tensor, layer: int, head: int) -> ImageWalkthrough:
    """One (1, C, S, S) image through a timm ViT up to block `layer` (from 1), and that block's
    self-attention step by step for `head` (from 0)."""
    check_supported(model)
    if not 1 <= layer <= len(model.blocks):
        raise ValueError(f"layer {layer} is not one of the model's {len(model.blocks)} blocks")
    block = model.blocks[layer - 1]
    if not (isinstance(block.attn.q_norm, nn.Identity) and isinstance(block.attn.norm, nn.Identity)
            and block.attn.gate is None):
        raise NotImplementedError("the walk-through follows plain softmax(q·kᵀ/√d)·v attention")
    device = next(model.parameters()).device
    size = patch_size_of(model)
    with shared_use(model), torch.inference_mode():
        images = batch.to(device)
        x, grid = embed(model, images)
        for earlier in model.blocks[: layer - 1]:
            x = earlier(x)
        normed = block.norm1(x)
        steps = self_attention_steps(normed[0], block.attn.qkv, block.attn.proj, block.attn.num_heads, head)
        own = block.attn(normed)[0]
        conv = model.patch_embed.proj
        patches = F.unfold(images, kernel_size=size, stride=size)[0].t()  # (P, C·p·p), channel-major as conv's
        embedded = patches @ conv.weight.reshape(conv.out_channels, -1).t() + conv.bias
        position = position_embedding(model, grid)[0]
    return ImageWalkthrough(
        patches=patches.float().cpu(), patch_embedding=embedded.float().cpu(), position=position.float().cpu(),
        block_input=x[0].float().cpu(), steps=steps, library_output=own.float().cpu(), layer=layer, grid=grid,
        patch_size=size,
        prefix_tokens=model.num_prefix_tokens, token_names=_token_names(model, grid),
    )
