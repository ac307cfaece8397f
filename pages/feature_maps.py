"""Feature maps: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Feature maps',
    'What does each layer of AlexNet, VGG, ResNet, MobileNet or ConvNeXt see in your picture?',
    [
        'every channel of a chosen layer as one mosaic, sorted by activation',
        'a channel enlarged over the image',
        "activation statistics per layer and the first layer's filters",
        'top-5 ImageNet classes',
        'a depth slider: resolution falls while channels rise',
    ],
)
