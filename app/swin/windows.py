"""Swin's geometry, needing no weights: windows, the cyclic shift, its sub-regions
and mask, per stage; and how far a token can reach through shifted windows.

Conventions follow timm's `SwinTransformerBlock`: the feature map (B, H, W, C) is
rolled by −shift, then padded at the bottom and right up to whole windows, then
cut into windows; a window larger than the map shrinks to the map and its shift
is forced to 0 (one window covers everything: there is nothing to shift across).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

MASKED = -100.0  # timm's (and the paper's) additive mask value: exp(−100) ≈ 0


@dataclass(frozen=True)
class StageGeometry:
    stage: int  # 0-based
    grid: tuple[int, int]  # tokens down and across
    window: int
    shift: int
    requested_shift: int  # window // 2 as configured; the map may force it to 0
    pixels_per_token: int  # input pixels covered by one token side
    channels: int

    @property
    def forced_zero_shift(self) -> bool:
        """The window covers the whole map, so the block cannot shift (Swin-T's stage 4)."""
        return self.shift == 0 and self.requested_shift > 0

    @property
    def padded(self) -> tuple[int, int]:
        return tuple(math.ceil(n / self.window) * self.window for n in self.grid)

    @property
    def windows(self) -> tuple[int, int]:
        """Windows down and across."""
        return self.padded[0] // self.window, self.padded[1] // self.window

    @property
    def window_count(self) -> int:
        return self.windows[0] * self.windows[1]


def swin_stages(input_size: int, patch_size: int, window: int, embed_dim: int,
                stages: int = 4) -> list[StageGeometry]:
    """Per stage: grid, window, shift (timm's rule: the window shrinks to a smaller
    map, and a map no larger than the window gets no shift), padding, channels."""
    grid = math.ceil(input_size / patch_size)
    result = []
    for stage in range(stages):
        effective = min(window, grid)
        shift = 0 if grid <= effective else window // 2
        result.append(StageGeometry(stage, (grid, grid), effective, shift, window // 2,
                                    patch_size * 2**stage, embed_dim * 2**stage))
        grid = math.ceil(grid / 2)  # patch merging pads an odd map by one
    return result


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·nW, window, window, C), windows in row-major order."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, channels)


def window_reverse(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """The inverse of window_partition: (B·nW, window, window, C) -> (B, H, W, C)."""
    channels = windows.shape[-1]
    x = windows.view(-1, height // window, width // window, window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def cyclic_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    """Rolls a (B, H, W, C) map up and left by `shift` tokens (torch.roll with −shift)."""
    return torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))


def reverse_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    return torch.roll(x, shifts=(shift, shift), dims=(1, 2))


def region_labels(padded: tuple[int, int], window: int, shift: int) -> torch.Tensor:
    """(Hp, Wp) labels 0–8 of the shifted map's sub-regions: after the roll, the
    last `shift` rows and columns hold tokens that came from the opposite border,
    the middle band from elsewhere. Tokens of different labels must not attend."""
    labels = torch.zeros(padded, dtype=torch.long)
    bands = ((0, -window), (-window, -shift), (-shift, None))
    label = 0
    for rows in bands:
        for cols in bands:
            labels[rows[0]:rows[1], cols[0]:cols[1]] = label
            label += 1
    return labels


def shifted_window_mask(geometry: StageGeometry) -> torch.Tensor | None:
    """(nW, N, N) additive mask, 0 where two tokens of a window share a sub-region
    and −100 where they do not; None for a block without shift."""
    if geometry.shift == 0:
        return None
    labels = region_labels(geometry.padded, geometry.window, geometry.shift)
    per_window = window_partition(labels[None, ..., None], geometry.window).reshape(-1, geometry.window ** 2)
    different = per_window[:, None, :] != per_window[:, :, None]  # (nW, N, N)
    return torch.where(different, MASKED, 0.0)


def window_of_token(geometry: StageGeometry, row: int, col: int, shifted: bool) -> tuple[int, int]:
    """(window index, position inside the window) of the token at (row, col) of the
    unshifted map, in a regular block or, with `shifted`, in the shifted block."""
    shift = geometry.shift if shifted else 0
    r, c = (row - shift) % geometry.grid[0], (col - shift) % geometry.grid[1]
    window = geometry.window
    index = (r // window) * geometry.windows[1] + (c // window)
    return index, (r % window) * window + (c % window)


def window_keys_in_map(geometry: StageGeometry, window_index: int, shifted: bool) -> np.ndarray:
    """(N, 2) map positions (row, col) of a window's tokens, −1 for padding tokens."""
    shift = geometry.shift if shifted else 0
    wr, wc = divmod(window_index, geometry.windows[1])
    positions = []
    for kr in range(geometry.window):
        for kc in range(geometry.window):
            r, c = wr * geometry.window + kr, wc * geometry.window + kc
            if r >= geometry.grid[0] or c >= geometry.grid[1]:
                positions.append((-1, -1))
            else:
                positions.append(((r + shift) % geometry.grid[0], (c + shift) % geometry.grid[1]))
    return np.array(positions)


def token_groups(geometry: StageGeometry, shifted: bool) -> np.ndarray:
    """(H, W) group of each map token in one block: tokens attend to each other
    exactly when they share a group (same window, and same sub-region if shifted)."""
    shift = geometry.shift if shifted else 0
    rows = (np.arange(geometry.grid[0]) - shift) % geometry.grid[0]
    cols = (np.arange(geometry.grid[1]) - shift) % geometry.grid[1]
    window = (rows[:, None] // geometry.window) * geometry.windows[1] + cols[None, :] // geometry.window
    if shift == 0:
        return window
    labels = region_labels(geometry.padded, geometry.window, shift).numpy()[np.ix_(rows, cols)]
    return window * 9 + labels


def swin_reach(stages: list[StageGeometry], depths: tuple[int, ...], token: tuple[int, int]) -> list[np.ndarray]:
    """After each block, which tokens of the first stage's grid can have reached
    `token` (or be reached by it): boolean (H1, W1) maps, one per block. Within a
    stage, blocks alternate regular and shifted windows; between stages, patch
    merging joins 2×2 neighbourhoods."""
    first = stages[0].grid
    reach = np.zeros(first, dtype=bool)
    reach[token] = True
    maps = []
    for geometry, depth in zip(stages, depths):
        if geometry.stage > 0:
            padded = np.pad(reach, ((0, reach.shape[0] % 2), (0, reach.shape[1] % 2)))
            reach = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).any(axis=(1, 3))
        for block in range(depth):
            groups = token_groups(geometry, shifted=block % 2 == 1 and geometry.shift > 0)
            reach = np.isin(groups, np.unique(groups[reach]))
            scale = 2 ** geometry.stage
            maps.append(np.kron(reach, np.ones((scale, scale), dtype=bool))[: first[0], : first[1]])
    return maps
