"""Register tokens and high-norm tokens, read off one capture.

Darcet et al. (2024, "Vision Transformers Need Registers") report that large ViTs trained
without registers (DINOv2 among them, not the original DINO) turn a few background patches
into tokens of very large norm that the CLS token attends to, and that extra learned input
tokens, registers, take that role so the patches stay clean. What follows measures that on
the image at hand: each output token's norm, and how much of the CLS token's last-layer
attention goes to registers and to the largest-norm patches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.vit.capture import AttentionCapture, prefix_token_names

OUTLIER_FACTOR = 2.0  # a patch is counted as high-norm above this multiple of the median patch norm


@dataclass(frozen=True)
class TokenNorms:
    patches: np.ndarray  # (h, w): each patch token's norm at the last block's output
    prefix: tuple[tuple[str, float], ...]  # ("CLS", norm), ("register 1", norm), …
    median: float
    outliers: np.ndarray  # (h, w) bool: patches above OUTLIER_FACTOR × the median
    cls_to_registers: float | None  # share of the CLS token's last-layer attention (mean of heads); None: no CLS
    cls_to_outliers: float | None  # the same share on the high-norm patches

    @property
    def registers(self) -> int:
        return sum(name.startswith("register") for name, _ in self.prefix)

    @property
    def largest(self) -> tuple[float, tuple[int, int]]:
        index = np.unravel_index(int(np.argmax(self.patches)), self.patches.shape)
        return float(self.patches[index]), (int(index[0]), int(index[1]))


def token_norms(capture: AttentionCapture) -> TokenNorms:
    norms = capture.token_norms.numpy().astype(np.float64)
    start = capture.prefix_tokens
    patches = norms[start:].reshape(capture.grid)
    median = float(np.median(patches))
    outliers = patches > OUTLIER_FACTOR * median
    names = prefix_token_names(capture.has_class_token, start)
    cls_to_registers = cls_to_outliers = None
    if capture.has_class_token:
        row = capture.attentions[-1, :, 0, :].float().mean(dim=0).numpy()  # (tokens,), sums to 1
        cls_to_registers = float(row[1:start].sum())
        cls_to_outliers = float(row[start:][outliers.reshape(-1)].sum())
    return TokenNorms(patches, tuple(zip(names, norms[:start].tolist())), median, outliers,
                      cls_to_registers, cls_to_outliers)
