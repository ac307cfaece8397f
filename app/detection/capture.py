"""What the DETR view shows, from one forward: every query's class probabilities and box, the
last encoder layer's self-attention and the last decoder layer's cross-attention (which image
tokens each object query read), for transformers' DETR and for the project's small DETR.

transformers' DETR computes attention with fused kernels that do not keep the softmax (eager
attention keeps it, but switching a shared model would change it for every session). Hooks on
the two attention modules read what they were given (the tokens, the position embeddings, the
mask) and recompute softmax(q·kᵀ·scale + mask) from their own projections; the hooks exist only
while this forward runs, with the model to itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.detection.tiny_detr import TinyDetr
from app.serving.model_lock import exclusive_use, shared_use


@dataclass(frozen=True, eq=False)
class DetrCapture:
    probabilities: torch.Tensor  # (queries, classes + 1), the last is "no object"
    boxes: torch.Tensor  # (queries, 4) cx, cy, w, h as fractions of the input
    encoder_attention: torch.Tensor  # (heads, tokens, tokens), the last encoder layer
    cross_attention: torch.Tensor  # (heads, queries, tokens), the last decoder layer
    grid: tuple[int, int]  # the encoder's tokens as rows × columns of the image

    def query_map(self, query: int) -> torch.Tensor:
        """(h, w): where object query `query` looked, heads averaged."""
        return self.cross_attention[:, query].mean(dim=0).reshape(self.grid)

    def token_map(self, row: int, col: int) -> torch.Tensor:
        """(h, w): where the encoder token at (row, col) looked, heads averaged."""
        return self.encoder_attention[:, row * self.grid[1] + col].mean(dim=0).reshape(self.grid)


def _softmax_of(attention: nn.Module, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None):
    """softmax(q·kᵀ·scale + mask) of a transformers DETR attention module, (heads, Q, K)."""
    q = attention.q_proj(queries)
    k = attention.k_proj(keys)
    q = q.view(*q.shape[:-1], -1, attention.head_dim).transpose(1, 2)
    k = k.view(*k.shape[:-1], -1, attention.head_dim).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) * attention.scaling
    if mask is not None:
        scores = scores + mask
    return scores.softmax(dim=-1)[0]


def capture_detr(model: nn.Module, batch: torch.Tensor) -> DetrCapture:
    """transformers' DetrForObjectDetection on a (1, 3, H, W) batch (no padding)."""
    core = model.model
    encoder_attention = core.encoder.layers[-1].self_attn
    cross_attention = core.decoder.layers[-1].encoder_attn
    seen: dict[str, torch.Tensor] = {}

    def on_encoder(module, args, kwargs, output):
        tokens = kwargs["hidden_states"]
        position = kwargs.get("position_embeddings")
        with_position = tokens + position if position is not None else tokens
        seen["encoder"] = _softmax_of(module, with_position, with_position, kwargs.get("attention_mask"))

    def on_cross(module, args, kwargs, output):
        queries, memory = kwargs["hidden_states"], kwargs["key_value_states"]
        query_position, memory_position = kwargs.get("position_embeddings"), kwargs.get("encoder_position_embeddings")
        seen["cross"] = _softmax_of(module, queries + query_position if query_position is not None else queries,
                                    memory + memory_position if memory_position is not None else memory,
                                    kwargs.get("attention_mask"))

    def on_projection(module, args, output):
        seen["grid"] = tuple(output.shape[-2:])

    device = next(model.parameters()).device
    with exclusive_use(model), torch.inference_mode():
        handles = [encoder_attention.register_forward_hook(on_encoder, with_kwargs=True),
                   cross_attention.register_forward_hook(on_cross, with_kwargs=True),
                   core.input_projection.register_forward_hook(on_projection)]
        try:
            output = model(pixel_values=batch.to(device))
        finally:
            for handle in handles:
                handle.remove()
    return DetrCapture(output.logits[0].softmax(dim=-1).float().cpu(), output.pred_boxes[0].float().cpu(),
                       seen["encoder"].float().cpu(), seen["cross"].float().cpu(), seen["grid"])


def capture_tiny_detr(model: TinyDetr, batch: torch.Tensor) -> DetrCapture:
    """The project's small DETR on a (1, 1, side, side) batch: its own forward keeps the attention."""
    with shared_use(model), torch.inference_mode():
        output = model(batch.to(next(model.parameters()).device), keep_attention=True)
    return DetrCapture(output.logits[-1, 0].softmax(dim=-1).float().cpu(), output.boxes[-1, 0].float().cpu(),
                       output.encoder_attention[-1, 0].float().cpu(), output.cross_attention[-1, 0].float().cpu(),
                       output.grid)
