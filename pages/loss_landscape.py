"""Loss landscape: placeholder until its issue lands."""

from components.coming_soon import coming_soon

coming_soon(
    'Loss landscape',
    'The loss surface of a real network around its trained weights, with its training path.',
    [
        '1D lines and 2D planes along filter-normalised or PCA directions',
        'contour and 3D views',
        'batch norm versus no batch norm side by side',
    ],
)
