"""Optimizer race: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Optimizer race',
    'Why SGD crawls along a valley floor, how momentum helps and why Adam rescales each coordinate.',
    [
        'GD, SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and AdamW racing on classic surfaces',
        'contour and 3D views, a replay slider with gradient and velocity arrows',
        'learning-rate schedules',
    ],
)
