"""Every layer's attention of a timm Vision Transformer, from one forward pass.

timm computes attention with fused scaled-dot-product kernels that never hold
the softmax matrix. Rather than switch fusion off on a model that other
sessions share (a setting that would leak into their forwards), the capture
runs its own forward over the model's modules: the same embedding, and for
each block the same norm, q·kᵀ·scale, softmax, projection and MLP as timm's
`Block`, keeping the softmax. Nothing on the model is changed, no hook is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.layers import Attention, resample_abs_pos_embed
from timm.models.vision_transformer import Block, VisionTransformer

from app.serving.model_lock import shared_use


@dataclass(frozen=True, eq=False)
class AttentionCapture:
    """One image's attention, read-only by convention (cached and shared)."""

    attentions: torch.Tensor  # (layers, heads, tokens, tokens), rows sum to 1
    prefix_tokens: int  # CLS, register and distillation tokens before the patches
    has_class_token: bool
    grid: tuple[int, int]  # patches down and across
    patch_size: int  # input pixels per patch side
    logits: torch.Tensor | None  # (classes,), None without a classifier
    features: torch.Tensor  # (tokens, D): the last block's tokens after the final norm (DINO's features)
    # (tokens,): the L2 norm of each of the last block's output tokens, before the final norm: where
    # Darcet et al. (2024) find a few outliers in ViTs trained without register tokens
    token_norms: torch.Tensor

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    def patch_attention(self, layer: int, query: int | None = None) -> torch.Tensor:
        """(heads, h, w): how much `query` attends to each patch in `layer`."""
        return self.to_patches(self.attentions[layer], query)

    def to_patches(self, matrix: torch.Tensor, query: int | None = None) -> torch.Tensor:
        """A (..., N, N) token matrix read as (..., h, w) maps over the patches:
        the row of `query`; by default the CLS token's row (DINO's figure), or for
        a model without a CLS token the mean over the patch rows."""
        rows = matrix[..., :, self.prefix_tokens:].float()  # (..., N, patches)
        if query is not None:
            picked = rows[..., query, :]
        elif self.has_class_token:
            picked = rows[..., 0, :]
        else:
            picked = rows[..., self.prefix_tokens:, :].mean(dim=-2)
        return picked.reshape(*matrix.shape[:-2], *self.grid)

    def query_of_patch(self, row: int, col: int) -> int:
        """The token index of the patch at (row, col)."""
        return self.prefix_tokens + row * self.grid[1] + col


def prefix_token_names(has_class_token: bool, prefix_tokens: int) -> tuple[str, ...]:
    """The tokens before the patches, in timm's order: the CLS token, then the registers."""
    cls = ("CLS",) if has_class_token else ()
    return (*cls, *(f"register {i + 1}" for i in range(prefix_tokens - len(cls))))


def attention_memory_bytes(model: VisionTransformer, input_size: int, bytes_per_value: int = 4) -> int:
    """What a capture at `input_size` holds: layers × heads × tokens² values."""
    tokens = (input_size // patch_size_of(model)) ** 2 + model.num_prefix_tokens
    heads = model.blocks[0].attn.num_heads
    return len(model.blocks) * heads * tokens * tokens * bytes_per_value


def patch_size_of(model: VisionTransformer) -> int:
    return model.patch_embed.patch_size[0]


def position_embedding(model: VisionTransformer, grid: tuple[int, int]) -> torch.Tensor:
    """The model's position embedding for a `grid` of patches, resampled (as timm's
    dynamic_img_size does) when the input is not the size the model was built for."""
    position = model.pos_embed
    if grid != tuple(model.patch_embed.grid_size):
        position = resample_abs_pos_embed(
            position, new_size=grid, old_size=model.patch_embed.grid_size,
            num_prefix_tokens=0 if model.no_embed_class else model.num_prefix_tokens,
        )
    return position


def embed(model: VisionTransformer, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """Patch embedding, prefix tokens and position embedding: the tokens the first block reads."""
    patches = model.patch_embed.proj(images)  # (B, C, h, w)
    grid = tuple(patches.shape[-2:])
    x = model.patch_embed.norm(patches.flatten(2).transpose(1, 2))  # (B, h·w, C)
    position = position_embedding(model, grid)
    prefix = [t.expand(x.shape[0], -1, -1) for t in (model.cls_token, model.reg_token) if t is not None]
    if model.no_embed_class:
        x = torch.cat([*prefix, x + position], dim=1)
    else:
        x = torch.cat([*prefix, x], dim=1) + position
    x = model.norm_pre(model.patch_drop(model.pos_drop(x)))
    return x, grid


def _block_with_attention(block: Block, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """timm's Block.forward (eval mode), returning the softmax it computes too."""
    attn: Attention = block.attn
    batch, tokens, _ = x.shape
    normed = block.norm1(x)
    qkv = attn.qkv(normed).reshape(batch, tokens, 3, attn.num_heads, attn.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, tokens, head_dim)
    q, k = attn.q_norm(q), attn.k_norm(k)
    probabilities = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)  # (B, heads, tokens, tokens)
    mixed = (probabilities @ v).transpose(1, 2).reshape(batch, tokens, attn.attn_dim)
    mixed = attn.norm(mixed)
    if attn.gate is not None:
        mixed = mixed * attn.gate(normed).sigmoid()
    x = x + block.drop_path1(block.ls1(attn.proj_drop(attn.proj(mixed))))
    x = x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))))
    return x, probabilities


def check_supported(model: torch.nn.Module) -> None:
    """Raises NotImplementedError for transformers this capture does not replicate."""
    if not isinstance(model, VisionTransformer):
        raise NotImplementedError(f"attention capture needs a timm VisionTransformer, not {type(model).__name__}")
    odd = {type(b).__name__ for b in model.blocks if type(b) is not Block or type(b.attn) is not Attention}
    if odd:
        raise NotImplementedError(f"attention capture replicates timm's Block and Attention, not {sorted(odd)}")


def capture_attention(model: VisionTransformer, batch: torch.Tensor, keep_dtype=torch.float32) -> AttentionCapture:
    """One forward of a (1, C, S, S) batch: every block's attention, the final tokens and the logits.

    Any S divisible by the patch size works; the position embedding is resampled.
    `keep_dtype=torch.float16` halves what is kept for large inputs.
    """
    check_supported(model)
    device = next(model.parameters()).device
    with shared_use(model), torch.inference_mode():
        x, grid = embed(model, batch.to(device))
        kept = []
        for block in model.blocks:
            x, probabilities = _block_with_attention(block, x)
            kept.append(probabilities[0].to("cpu", keep_dtype))
        norms = x[0].float().norm(dim=-1).cpu()
        x = model.norm(x)
        logits = model.forward_head(x)[0].float().cpu() if model.num_classes else None
    return AttentionCapture(
        attentions=torch.stack(kept), prefix_tokens=model.num_prefix_tokens,
        has_class_token=model.cls_token is not None, grid=grid, patch_size=patch_size_of(model), logits=logits,
        features=x[0].float().cpu(), token_norms=norms,
    )
