"""Swin windows: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Swin windows',
    "How Swin's windows, cyclic shift and attention mask work, on your image.",
    [
        'the patch grid, regular and shifted windows per stage',
        'the cyclic shift step by step',
        "a shifted window's sub-regions and its 0 / −100 mask",
        'real window attention per head',
    ],
)
