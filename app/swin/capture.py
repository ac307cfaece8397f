"""Window attention of every block of a timm Swin Transformer, and its stage feature
maps, from one forward pass that changes nothing on the (shared) model.

The capture replays timm's `SwinTransformerBlock`: roll by −shift, pad to whole
windows, partition, q·kᵀ·scale + relative position bias + the block's own mask,
softmax (kept), merge, crop, roll back, MLP. No hook, no switch of `fused_attn`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from timm.models.swin_transformer import SwinTransformer, SwinTransformerBlock, WindowAttention

from app.serving.model_lock import shared_use
from app.swin.windows import (
    StageGeometry,
    cyclic_shift,
    reverse_shift,
    swin_stages,
    window_keys_in_map,
    window_of_token,
    window_partition,
    window_reverse,
)


@dataclass(frozen=True)
class SwinLayout:
    """What the page draws of a Swin's architecture: patch size, window, blocks per stage, width."""

    patch_size: int
    window: int
    depths: tuple[int, ...]
    embed_dim: int

    def stages(self, input_size: int, window: int | None = None) -> list[StageGeometry]:
        """The stages' geometry at `input_size`, with the model's window or another."""
        return swin_stages(input_size, self.patch_size, window or self.window, self.embed_dim, len(self.depths))


def swin_layout(model: SwinTransformer) -> SwinLayout:
    """Read off a timm SwinTransformer."""
    return SwinLayout(model.patch_embed.patch_size[0], model.layers[0].blocks[0].window_size[0],
                      tuple(len(stage.blocks) for stage in model.layers), model.embed_dim)


@dataclass(frozen=True, eq=False)
class BlockAttention:
    stage: int
    block: int  # within the stage
    geometry: StageGeometry  # this block's window and shift
    attention: torch.Tensor  # (windows, heads, N, N), N = window², rows sum to 1
    mask: torch.Tensor | None  # (windows, N, N) of 0 / −100, None without shift

    @property
    def shifted(self) -> bool:
        return self.mask is not None

    def token_attention(self, row: int, col: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Where the token at (row, col) of the unshifted map looks: (heads, H, W)
        attention placed at the keys' map positions (NaN outside its window), a
        (H, W) boolean map of the keys the mask hides from it, and the attention
        share that went to padding tokens."""
        index, query = window_of_token(self.geometry, row, col, self.shifted)
        weights = self.attention[index, :, query].float().numpy()  # (heads, N)
        masked = (self.mask[index, query] < 0).numpy() if self.mask is not None else np.zeros(weights.shape[1], bool)
        positions = window_keys_in_map(self.geometry, index, self.shifted)
        maps = np.full((weights.shape[0], *self.geometry.grid), np.nan, dtype=np.float32)
        hidden = np.zeros(self.geometry.grid, dtype=bool)
        real = positions[:, 0] >= 0
        rows, cols = positions[real, 0], positions[real, 1]
        maps[:, rows, cols] = weights[:, real]
        hidden[rows, cols] = masked[real]
        return maps, hidden, float(weights[:, ~real].sum(axis=1).mean()) if (~real).any() else 0.0


@dataclass(frozen=True, eq=False)
class SwinCapture:
    blocks: list[BlockAttention]
    stage_features: list[torch.Tensor]  # per stage output, (C, H, W)
    logits: torch.Tensor | None

    def block(self, stage: int, block: int) -> BlockAttention:
        return next(b for b in self.blocks if b.stage == stage and b.block == block)


def stage_geometries(model: SwinTransformer) -> list[list[StageGeometry]]:
    """Each block's geometry as the model itself holds it (window, shift, resolution)."""
    result = []
    for stage_index, stage in enumerate(model.layers):
        per_block = []
        for block in stage.blocks:
            per_block.append(StageGeometry(
                stage=stage_index, grid=tuple(block.input_resolution), window=block.window_size[0],
                shift=block.shift_size[0], requested_shift=block.target_shift_size[0],
                pixels_per_token=model.patch_embed.patch_size[0] * 2**stage_index, channels=block.dim,
            ))
        result.append(per_block)
    return result


def _window_attention(attn: WindowAttention, windows: torch.Tensor, mask: torch.Tensor | None):
    """timm's WindowAttention.forward (eval), unfused, returning the softmax too."""
    count, tokens, _ = windows.shape
    q, k, v = attn.qkv(windows).reshape(count, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    scores = (q * attn.scale) @ k.transpose(-2, -1) + attn._get_rel_pos_bias()  # (B·nW, heads, N, N)
    if mask is not None:
        scores = (scores.view(-1, mask.shape[0], attn.num_heads, tokens, tokens) + mask[None, :, None])
        scores = scores.view(-1, attn.num_heads, tokens, tokens)
    probabilities = scores.softmax(dim=-1)
    mixed = (probabilities @ v).transpose(1, 2).reshape(count, tokens, -1)
    return attn.proj_drop(attn.proj(mixed)), probabilities


def _block(block: SwinTransformerBlock, x: torch.Tensor):
    batch, height, width, channels = x.shape
    window, shift = block.window_size[0], block.shift_size[0]
    shifted = cyclic_shift(block.norm1(x), shift) if shift else block.norm1(x)
    pad_h, pad_w = (window - height % window) % window, (window - width % window) % window
    shifted = F.pad(shifted, (0, 0, 0, pad_w, 0, pad_h))
    padded_h, padded_w = shifted.shape[1:3]
    windows = window_partition(shifted, window).view(-1, window * window, channels)
    mask = block.get_attn_mask(shifted) if block.dynamic_mask else block.attn_mask
    mixed, probabilities = _window_attention(block.attn, windows, mask)
    merged = window_reverse(mixed.view(-1, window, window, channels), window, padded_h, padded_w)
    merged = merged[:, :height, :width]
    x = x + block.drop_path1(reverse_shift(merged, shift) if shift else merged)
    flat = x.reshape(batch, -1, channels)
    flat = flat + block.drop_path2(block.mlp(block.norm2(flat)))
    return flat.reshape(batch, height, width, channels), probabilities, mask


def capture_swin(model: SwinTransformer, batch: torch.Tensor) -> SwinCapture:
    """One forward of a (1, C, S, S) batch at the model's own input size."""
    if not isinstance(model, SwinTransformer):
        raise NotImplementedError(f"window-attention capture needs a timm SwinTransformer, not {type(model).__name__}")
    geometries = stage_geometries(model)
    device = next(model.parameters()).device
    blocks, features = [], []
    with shared_use(model), torch.inference_mode():
        x = model.patch_embed(batch.to(device))  # (B, H, W, C)
        for stage_index, stage in enumerate(model.layers):
            x = stage.downsample(x)
            for block_index, block in enumerate(stage.blocks):
                x, probabilities, mask = _block(block, x)
                blocks.append(BlockAttention(
                    stage_index, block_index, geometries[stage_index][block_index], probabilities.float().cpu(),
                    None if mask is None else mask.float().cpu()))
            features.append(x[0].permute(2, 0, 1).float().cpu())  # NHWC -> (C, H, W)
        logits = model.forward_head(model.norm(x))[0].float().cpu() if model.num_classes else None
    return SwinCapture(blocks, features, logits)
