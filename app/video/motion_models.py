"""Five small networks for Moving Fashion-MNIST, one per idea of the course's video chapter; each
takes clips (B, 1, T, H, W) normalised as Fashion-MNIST and gives (B, classes) scores.

- FrameCNN: a 2D CNN on the middle frame alone. The label is the motion, so it can only guess.
- C3D: 3×3×3 convolutions over space and time (Tran et al. 2015), pooling time only later.
- TwoStream: an appearance stream on the middle frame and a motion stream on the stacked frame
  differences (Simonyan and Zisserman 2014 stack optical flow; differences are its cheap stand-in),
  each with its own classifier, fused by averaging their scores.
- SlowFast: a slow pathway on every α-th frame with many channels and a fast one on every frame
  with β times fewer, the fast one's maps joined to the slow one by time-strided lateral
  convolutions (Feichtenhofer et al. 2019).
- DividedSpaceTime: a transformer whose blocks attend across time (the same patch in every frame),
  then across space (every patch of the same frame), then an MLP: TimeSformer's "T+S" (Bertasius
  et al. 2021).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(inputs: int, outputs: int, kernel, dims: int = 2, stride=1) -> nn.Sequential:
    conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
    padding = tuple(k // 2 for k in kernel) if isinstance(kernel, tuple) else kernel // 2
    return nn.Sequential(conv(inputs, outputs, kernel, stride=stride, padding=padding, bias=False), norm(outputs),
                         nn.ReLU())


def image_features(inputs: int, widths: tuple[int, ...]) -> nn.Sequential:
    """A 2D stack: a 3×3 convolution and a 2×2 max-pool per width, then global average pooling."""
    layers = []
    for width in widths:
        layers += [conv_bn(inputs, width, 3), nn.MaxPool2d(2)]
        inputs = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


class FrameCNN(nn.Module):
    def __init__(self, classes: int = 10, widths: tuple[int, ...] = (16, 32, 64)):
        super().__init__()
        self.features = image_features(1, widths)
        self.head = nn.Linear(widths[-1], classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(clips[:, :, clips.shape[2] // 2]))


class C3D(nn.Module):
    def __init__(self, classes: int = 10, widths: tuple[int, ...] = (16, 32, 64)):
        super().__init__()
        # The first layer strides over space only (as C3D's pool1 keeps every frame): motion is read
        # before time shrinks; the later ones pool space and time alike.
        layers, inputs = [conv_bn(1, widths[0], 3, dims=3, stride=(1, 2, 2))], widths[0]
        for width in widths[1:]:
            layers += [conv_bn(inputs, width, 3, dims=3), nn.MaxPool3d(2)]
            inputs = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.head = nn.Linear(widths[-1], classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(clips))


class TwoStream(nn.Module):
    def __init__(self, classes: int = 10, frames: int = 8, widths: tuple[int, ...] = (16, 32, 64)):
        super().__init__()
        self.appearance = FrameCNN(classes, widths)
        self.motion = nn.Sequential(image_features(frames - 1, widths), nn.Linear(widths[-1], classes))

    def stream_scores(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the appearance stream's scores, the motion stream's), each (B, classes)."""
        differences = clips[:, 0, 1:] - clips[:, 0, :-1]  # (B, T − 1, H, W): the motion stream's channels
        return self.appearance(clips), self.motion(differences)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        appearance, motion = self.stream_scores(clips)
        return (appearance + motion) / 2


class SlowFast(nn.Module):
    def __init__(self, classes: int = 10, alpha: int = 4, beta: int = 4, widths: tuple[int, ...] = (32, 64)):
        super().__init__()
        self.alpha = alpha
        # The slow pathway's stem has no temporal kernel, the fast one's spans 5 frames; both stride over space.
        self.slow_stem = conv_bn(1, widths[0], (1, 3, 3), dims=3, stride=(1, 2, 2))
        self.fast_stem = conv_bn(1, widths[0] // beta, (5, 3, 3), dims=3, stride=(1, 2, 2))
        # Lateral connection: the fast maps, α frames to one, added as channels to the slow pathway.
        self.lateral = nn.Conv3d(widths[0] // beta, 2 * widths[0] // beta, (5, 1, 1), stride=(alpha, 1, 1),
                                 padding=(2, 0, 0))
        self.slow = conv_bn(widths[0] + 2 * widths[0] // beta, widths[1], (3, 3, 3), dims=3)
        self.fast = conv_bn(widths[0] // beta, widths[1] // beta, (3, 3, 3), dims=3)
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.head = nn.Linear(widths[1] + widths[1] // beta, classes)

    def pathways(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the slow pathway's last maps, the fast one's), before pooling."""
        slow = self.slow_stem(clips[:, :, :: self.alpha])  # (B, C, T / α, H / 2, W / 2)
        fast = self.fast_stem(clips)  # (B, C / β, T, H / 2, W / 2)
        slow = torch.cat([slow, self.lateral(fast)], dim=1)
        return self.slow(self.pool(slow)), self.fast(self.pool(fast))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        slow, fast = self.pathways(clips)
        return self.head(torch.cat([slow.mean(dim=(2, 3, 4)), fast.mean(dim=(2, 3, 4))], dim=1))


class DividedBlock(nn.Module):
    """Time attention, then space attention, then an MLP, each with a pre-norm and a residual."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.time_norm, self.space_norm, self.mlp_norm = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.time = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.space = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, tokens: torch.Tensor, need_weights: bool = False):
        """`tokens` (B, T, N, D) → the same shape; with `need_weights`, also the attention
        weights ((B·N, heads, T, T) across time, (B·T, heads, N, N) across space)."""
        b, t, n, d = tokens.shape
        across_time = tokens.transpose(1, 2).reshape(b * n, t, d)  # each patch's sequence over the frames
        x = self.time_norm(across_time)
        attended, time_weights = self.time(x, x, x, need_weights=need_weights, average_attn_weights=False)
        tokens = tokens + attended.reshape(b, n, t, d).transpose(1, 2)
        across_space = tokens.reshape(b * t, n, d)  # each frame's patches
        x = self.space_norm(across_space)
        attended, space_weights = self.space(x, x, x, need_weights=need_weights, average_attn_weights=False)
        tokens = tokens + attended.reshape(b, t, n, d)
        tokens = tokens + self.mlp(self.mlp_norm(tokens))
        return (tokens, time_weights, space_weights) if need_weights else tokens


class DividedSpaceTime(nn.Module):
    def __init__(self, classes: int = 10, frames: int = 8, side: int = 48, patch: int = 8, dim: int = 64,
                 depth: int = 2, heads: int = 4):
        super().__init__()
        self.patch = patch
        self.embed = nn.Conv2d(1, dim, patch, stride=patch)
        patches = (side // patch) ** 2
        self.space_position = nn.Parameter(torch.zeros(1, 1, patches, dim))
        self.time_position = nn.Parameter(torch.zeros(1, frames, 1, dim))
        nn.init.trunc_normal_(self.space_position, std=0.02)
        nn.init.trunc_normal_(self.time_position, std=0.02)
        self.blocks = nn.ModuleList(DividedBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def tokens(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) → (B, T, N, D): every frame's patches, with their place in space and time."""
        b, _, t, h, w = clips.shape
        patches = self.embed(clips.transpose(1, 2).reshape(b * t, 1, h, w))  # (B·T, D, H/p, W/p)
        patches = patches.flatten(2).transpose(1, 2).reshape(b, t, -1, patches.shape[1])
        return patches + self.space_position + self.time_position[:, :t]

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        tokens = self.tokens(clips)
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens.mean(dim=(1, 2))))  # the mean token: no class token needed


ARCHITECTURES = {"frame_cnn": FrameCNN, "c3d": C3D, "two_stream": TwoStream, "slowfast": SlowFast,
                 "divided_st": DividedSpaceTime}
