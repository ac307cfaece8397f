"""ViT & DINO attention: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'ViT & DINO attention',
    "Where does a Vision Transformer look, and how does DINO's self-supervised attention find the object?",
    [
        "per-head CLS attention of any layer (DINO's figure) with the attention-mass mask",
        'attention rollout with head fusion and discard ratio',
        'click a patch to see its attention',
        'mean attention distance per head against depth',
    ],
)
