"""A transformers CvT's stage outputs, returned as a feature extractor returns its layers.

transformers' networks do not trace with torch.fx as timm's and torchvision's do, but they hand
back every stage's output when asked (`output_hidden_states`): no hook, so a model shared by
every session can be read by several at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class CvtStageOutputs(nn.Module):
    """{layer: tensor} for `cvt.encoder.stages.i` (each stage's (B, C, H, W) map) and
    `layernorm` (the normed CLS token the classifier reads, (B, C)), plus `logits_name` when given."""

    def __init__(self, model: nn.Module, layers: Sequence[str], logits_name: str | None) -> None:
        super().__init__()
        self.model, self.layers, self.logits_name = model, tuple(layers), logits_name

    def forward(self, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
        base = self.model.cvt(pixel_values, output_hidden_states=True)
        # CvtForImageClassification.forward's head: the last stage's CLS token, normed, is the pooled vector.
        pooled = self.model.layernorm(base.cls_token_value).mean(dim=1)
        found = {f"cvt.encoder.stages.{i}": state for i, state in enumerate(base.hidden_states)}
        found["layernorm"] = pooled
        outputs = {layer: found[layer] for layer in self.layers}
        if self.logits_name is not None:
            outputs[self.logits_name] = self.model.classifier(pooled)
        return outputs
