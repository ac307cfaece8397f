"""Small pictures in rows, each with a caption in a band of its own under it.

The pictures travel as one PNG; the figure is drawn at one canvas pixel per screen
pixel (its height is the canvas's), so a caption of a known font size fits the band
made for it and never reaches the next row, whatever the pictures' size.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch

from app.figures.mosaic import tiled
from app.figures.plot_images import image_trace, picture_layout

TILE_PX = 84  # a picture's side on screen: a 28×28 image at 3×, an 8×8 one at 10×
CAPTION_FONT_PX = 13
LINE_PX = 18  # one caption line, with its leading
CHAR_PX = 8.5  # wider than an average character at CAPTION_FONT_PX, so captions never touch
GAP_PX = 10
GRID_WIDTH_PX = 780  # narrower than the main column at 1280 px wide with the sidebar open (about 820)


def captioned_grid(images: torch.Tensor, captions: list[str]) -> go.Figure:
    """(N, C, H, W) images in [0, 1] (C = 1 or 3), one caption each (lines split by <br>)."""
    count, _, height, width = images.shape
    lines = [caption.split("<br>") for caption in captions]
    scale = max(1, round(TILE_PX / max(height, width)))
    tile_h, tile_w = height * scale, width * scale
    band = max(len(parts) for parts in lines) * LINE_PX + GAP_PX
    pitch_w = max(tile_w, math.ceil(CHAR_PX * max(len(line) for parts in lines for line in parts))) + GAP_PX
    pitch_h = tile_h + band
    cols = min(count, max(1, GRID_WIDTH_PX // pitch_w))
    pictures = (images.float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1)
    enlarged = pictures.permute(0, 2, 3, 1).numpy().repeat(scale, 1).repeat(scale, 2)
    canvas = tiled(enlarged, cols=cols, cell=(pitch_h, pitch_w)).rgb
    annotations = []
    for position, caption in enumerate(captions):
        row, col = divmod(position, cols)
        annotations.append(dict(x=col * pitch_w + pitch_w / 2, y=row * pitch_h + tile_h + 2, yanchor="top",
                                showarrow=False, text=caption, font=dict(size=CAPTION_FONT_PX)))
    figure = go.Figure(image_trace(canvas))
    picture_layout(figure, canvas.shape[1], canvas.shape[0], None, canvas.shape[0])
    figure.update_layout(annotations=annotations)
    return figure
