"""Pictures for plotly: RGB arrays travel to the browser as PNG, not as numbers."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from PIL import Image


def png_data_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass(frozen=True)
class EncodedPicture:
    """A picture already encoded for the browser, with its size: a large picture costs tens of
    milliseconds to encode (32 ms at 520×781), so a cached one is encoded once, not on every rerun."""

    uri: str  # PNG data URI
    height: int
    width: int


Picture = np.ndarray | EncodedPicture  # (H, W, 3) uint8, or the same already encoded


def encoded(rgb: np.ndarray) -> EncodedPicture:
    return EncodedPicture(png_data_uri(rgb), *rgb.shape[:2])


def picture_size(picture: Picture) -> tuple[int, int]:
    """(height, width) in pixels."""
    if isinstance(picture, EncodedPicture):
        return picture.height, picture.width
    return picture.shape[:2]


def image_trace(picture: Picture, name: str = "image", hover: bool = False) -> go.Image:
    """An RGB picture as one PNG trace; pixel (row r, col c) spans [c, c+1] × [r, r+1]."""
    uri = picture.uri if isinstance(picture, EncodedPicture) else png_data_uri(picture)
    return go.Image(source=uri, x0=0.5, y0=0.5, name=name, hoverinfo=None if hover else "skip")


def picture_layout(figure: go.Figure, width: int, height: int, title: str | None = None,
                   fig_height: int | None = None) -> go.Figure:
    """Square pixels, image orientation (y down), no axes."""
    figure.update_xaxes(visible=False, range=[0, width], constrain="domain")
    figure.update_yaxes(visible=False, range=[height, 0], scaleanchor="x", constrain="domain")
    figure.update_layout(
        title=title, margin=dict(l=0, r=0, t=36 if title else 0, b=0),
        height=fig_height, plot_bgcolor="white", dragmode="pan",
    )
    return figure


def resized_view(view: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8 → (height, width, 3) float, bilinear with antialiasing: a picture
    enlarged (or shrunk) under a grid of tokens, heads or windows."""
    tensor = torch.from_numpy(np.ascontiguousarray(view)).permute(2, 0, 1)[None].float()
    return F.interpolate(tensor, size=(height, width), mode="bilinear", antialias=True)[0].permute(1, 2, 0).numpy()


def picture_colorbar(figure: go.Figure, row: int, col: int, colormap: str, low: float, high: float, title: str,
                     ticks: list[float], tickformat: str = ".1f") -> None:
    """A colour bar drawn as a picture in subplot (row, col), high values at the top, for
    figures whose maps are pictures: plotly's own bar takes its colours from a colorscale,
    which Streamlit's theme recolours, so it would not match the pictures' colours."""
    from app.figures.colormaps import apply_colormap

    levels = np.linspace(1, 0, 256)[:, None]  # (256, 1): top row is the high end
    figure.add_trace(image_trace(apply_colormap(np.repeat(levels, 8, axis=1), colormap), name=title),
                     row=row, col=col)
    figure.update_xaxes(visible=False, range=[0, 8], row=row, col=col)
    figure.update_yaxes(range=[256, 0], side="right", showgrid=False, zeroline=False, title_text=title,
                        tickvals=[(1 - (v - low) / (high - low)) * 256 for v in ticks],
                        ticktext=[format(v, tickformat) for v in ticks], row=row, col=col)


def titled_pictures(pictures: dict[str, Picture] | list[tuple[str, Picture]], height: int = 300,
                    cols: int | None = None) -> go.Figure:
    """RGB pictures side by side (in rows of `cols`), each with its title (a list of pairs when
    titles repeat), square pixels."""
    from plotly.subplots import make_subplots

    items = list(pictures.items()) if isinstance(pictures, dict) else list(pictures)
    cols = cols or len(items)
    rows = -(-len(items) // cols)
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=[title for title, _ in items],
                           horizontal_spacing=0.02, vertical_spacing=0.08)
    for index, (_, picture) in enumerate(items):
        row, col = divmod(index, cols)
        h, w = picture_size(picture)
        figure.add_trace(image_trace(picture), row=row + 1, col=col + 1)
        figure.update_xaxes(visible=False, range=[0, w], row=row + 1, col=col + 1)
        figure.update_yaxes(visible=False, range=[h, 0], scaleanchor=figure.data[-1].xaxis, row=row + 1, col=col + 1)
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white")
    return figure


def labelled_tiles(tiles: np.ndarray, labels: list[str], cols: int, width: int = 1200, gap: int = 2) -> go.Figure:
    """(N, h, w, 3) uint8 pictures in rows of `cols` as one picture, each label written over its
    picture's top-left corner (white on a dark band, readable over any picture); `width` is the
    width the figure's height is computed for (a stretched chart in the main column)."""
    from app.figures.mosaic import tiled

    grid = tiled(tiles, cols=cols, gap=gap)
    pitch_h, pitch_w = (n + gap for n in grid.tile_shape)
    height, across = grid.rgb.shape[:2]
    annotations = [dict(x=col * pitch_w + 3, y=row * pitch_h + 3, text=label, showarrow=False, xanchor="left",
                        yanchor="top", font=dict(size=15, color="white"), bgcolor="rgba(0,0,0,0.6)")
                   for (row, col), label in zip((divmod(i, cols) for i in range(len(labels))), labels)]
    # The layout in one piece, as picture_layout sets it: plotly validates each update separately,
    # and with a label per picture that cost more than drawing the pictures.
    return go.Figure(data=[image_trace(grid.rgb, "tiles")], layout=dict(
        xaxis=dict(visible=False, range=[0, across], constrain="domain"),
        yaxis=dict(visible=False, range=[height, 0], scaleanchor="x", constrain="domain"),
        annotations=annotations, margin=dict(l=0, r=0, t=0, b=0), plot_bgcolor="white", dragmode="pan",
        height=round(width * height / across)))
