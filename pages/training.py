"""Live training: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Live training',
    'Train a small network in the browser and watch batch norm, dropout and augmentation change the curves.',
    [
        'live loss and accuracy curves with the generalisation gap',
        'runs compared side by side',
        'confusion matrix and the most confidently wrong images',
    ],
)
