"""Attributions: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Attributions',
    "Which pixels made the model decide? Captum's methods side by side.",
    [
        'Grad-CAM, Integrated Gradients, Saliency and Occlusion for a chosen class',
        'overlays with opacity',
        'a deletion curve per method as a faithfulness check',
    ],
)
