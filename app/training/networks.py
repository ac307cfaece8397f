"""The small networks of the live-training page, each with batch norm on or off,
a dropout rate and a width multiplier (the small ResNet also with or without skip
connections). Every one has a `probe`: an identity placed on the pre-activations of
one hidden layer, where batch norm's effect shows."""

from __future__ import annotations

import inspect

import timm
import torch
from torch import nn


def _norm2d(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class LeNet5(nn.Module):
    """LeCun et al. 1998 as the course draws it: conv 5×5 → pool → conv 5×5 → pool →
    120 → 84 → classes (ReLU for the tanh of old; batch norm after each layer when on)."""

    def __init__(self, in_shape, classes, batch_norm, dropout, width):
        super().__init__()
        channels, height, _ = in_shape
        c1, c2 = round(6 * width), round(16 * width)
        self.features = nn.Sequential(
            nn.Conv2d(channels, c1, 5, padding=2 if height == 28 else 0), _norm2d(c1, batch_norm), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), _norm2d(c2, batch_norm),
        )
        self.probe = nn.Identity()
        self.classifier = nn.Sequential(
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(dropout),
            nn.LazyLinear(round(120 * width)), nn.BatchNorm1d(round(120 * width)) if batch_norm else nn.Identity(),
            nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(round(120 * width), round(84 * width)), nn.ReLU(), nn.Linear(round(84 * width), classes),
        )

    def forward(self, x):
        return self.classifier(self.probe(self.features(x)))


class SmallVGG(nn.Module):
    """Two blocks of two 3×3 convs and a max-pool, global pooling, a linear classifier."""

    def __init__(self, in_shape, classes, batch_norm, dropout, width):
        super().__init__()
        channels = in_shape[0]
        c1, c2 = round(32 * width), round(64 * width)

        def conv(a, b):
            return [nn.Conv2d(a, b, 3, padding=1), _norm2d(b, batch_norm)]

        self.features = nn.Sequential(*conv(channels, c1), nn.ReLU(), *conv(c1, c1), nn.ReLU(), nn.MaxPool2d(2),
                                      *conv(c1, c2), nn.ReLU(), *conv(c2, c2))
        self.probe = nn.Identity()
        self.head = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(dropout), nn.Linear(c2, classes))

    def forward(self, x):
        return self.head(self.probe(self.features(x)))


class BasicBlock(nn.Module):
    """Two 3×3 convs and, with `skip`, the identity (or a 1×1 projection) added back."""

    def __init__(self, a, b, stride, batch_norm, skip=True):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(a, b, 3, stride, 1, bias=not batch_norm), _norm2d(b, batch_norm)
        self.conv2, self.norm2 = nn.Conv2d(b, b, 3, 1, 1, bias=not batch_norm), _norm2d(b, batch_norm)
        self.skip = skip
        if skip and not (stride == 1 and a == b):
            self.shortcut = nn.Sequential(nn.Conv2d(a, b, 1, stride, bias=not batch_norm), _norm2d(b, batch_norm))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))
        return torch.relu(out + self.shortcut(x) if self.skip else out)


class SmallResNet(nn.Module):
    """A 3×3 stem and three residual stages (16, 32, 64 channels × width), stride 2
    between; without skip connections it is the same network made plain (Li et al.'s comparison)."""

    def __init__(self, in_shape, classes, batch_norm, dropout, width, skip_connections=True):
        super().__init__()
        c1, c2, c3 = (round(c * width) for c in (16, 32, 64))
        skip = skip_connections
        self.stem = nn.Sequential(nn.Conv2d(in_shape[0], c1, 3, padding=1, bias=not batch_norm),
                                  _norm2d(c1, batch_norm))
        self.probe = nn.Identity()
        self.stages = nn.Sequential(BasicBlock(c1, c1, 1, batch_norm, skip), BasicBlock(c1, c2, 2, batch_norm, skip),
                                    BasicBlock(c2, c3, 2, batch_norm, skip))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c3, classes))

    def forward(self, x):
        return self.head(self.stages(torch.relu(self.probe(self.stem(x)))))


class MLP(nn.Module):
    def __init__(self, in_shape, classes, batch_norm, dropout, width):
        super().__init__()
        inputs = in_shape[0] * in_shape[1] * in_shape[2]
        h1, h2 = round(256 * width), round(128 * width)
        self.first = nn.Sequential(nn.Flatten(), nn.Linear(inputs, h1),
                                   nn.BatchNorm1d(h1) if batch_norm else nn.Identity())
        self.probe = nn.Identity()
        self.rest = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(h1, h2),
                                  nn.BatchNorm1d(h2) if batch_norm else nn.Identity(), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(h2, classes))

    def forward(self, x):
        return self.rest(self.probe(self.first(x)))


class TokenBatchNorm(nn.Module):
    """Batch norm over the channels of (B, N, C) tokens: the ViT with batch norm in
    place of layer norm (as in Yao et al. 2021), for the on/off comparison."""

    def __init__(self, dim, **_):
        super().__init__()
        self.norm = nn.BatchNorm1d(dim)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class TinyViT(nn.Module):
    """The tiny ViT of the attention page (4×4 patches), layer norm or batch norm."""

    def __init__(self, in_shape, classes, batch_norm, dropout, width):
        super().__init__()
        channels, size, _ = in_shape
        dim = round(64 * width / 4) * 4  # divisible by the 4 heads
        self.vit = timm.create_model(
            "vit_tiny_patch16_224", pretrained=False, img_size=size, patch_size=4, in_chans=channels,
            num_classes=classes, embed_dim=dim, depth=6, num_heads=4, mlp_ratio=2.0, drop_rate=dropout,
            norm_layer=TokenBatchNorm if batch_norm else None,
        )
        self.probe = nn.Identity()

    def forward(self, x):
        tokens = self.probe(self.vit.patch_embed(x))  # the patch embeddings, before any block
        tokens = self.vit.norm_pre(self.vit.patch_drop(self.vit._pos_embed(tokens)))
        return self.vit.forward_head(self.vit.norm(self.vit.blocks(tokens)))


_KINDS = {"LeNet-5": LeNet5, "Small VGG": SmallVGG, "Small ResNet": SmallResNet, "MLP": MLP, "Tiny ViT": TinyViT}
NETWORKS = tuple(_KINDS)
NETWORK_SETTINGS = ("batch_norm", "dropout", "width", "skip_connections")  # what build() passes on


def settings_of(name: str) -> frozenset[str]:
    """The settings a network has, read from its constructor: what a run can change in it."""
    return frozenset(inspect.signature(_KINDS[name]).parameters) - {"in_shape", "classes"}


def build(name: str, in_shape: tuple[int, int, int], classes: int, batch_norm: bool = False,
          dropout: float = 0.0, width: float = 1.0, skip_connections: bool = True) -> nn.Module:
    """The network `name`; a setting it does not have (`settings_of`) is ignored."""
    settings = dict(zip(NETWORK_SETTINGS, (batch_norm, dropout, width, skip_connections)))
    model = _KINDS[name](in_shape, classes, **{k: v for k, v in settings.items() if k in settings_of(name)})
    with torch.no_grad():  # materialise lazy layers with the real input shape
        model.eval()(torch.zeros(2, *in_shape))
    return model.train()
