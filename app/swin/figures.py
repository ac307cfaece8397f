"""Pictures and figures of Swin's windows, cyclic shift, mask, patch merging,
reach, and window attention, drawn on the picture the model saw."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from app.figures.colormaps import apply_colormap
from app.figures.mosaic import Mosaic, tiled
from app.figures.palette import BLUE, ORANGE, PALETTE
from app.figures.plot_images import image_trace, picture_layout, png_data_uri, resized_view
from app.swin.windows import MASKED, StageGeometry, region_labels, window_partition

REGION_COLORS = np.array([(76, 120, 168), (245, 133, 24), (84, 162, 75), (228, 87, 86), (114, 183, 178),
                          (238, 202, 59), (178, 121, 162), (255, 157, 166), (157, 117, 93)], dtype=np.float32)
_PADDING = np.array((200, 200, 200), dtype=np.float32)


def _token_picture(view: np.ndarray, geometry: StageGeometry, cell: int) -> np.ndarray:
    """The picture at cell px per token, on a canvas of the padded map (padding grey)."""
    (height, width), (padded_h, padded_w) = geometry.grid, geometry.padded
    canvas = np.broadcast_to(_PADDING, (padded_h * cell, padded_w * cell, 3)).copy()
    canvas[: height * cell, : width * cell] = resized_view(view, height * cell, width * cell)
    return canvas


def _draw_lines(canvas: np.ndarray, positions_px: list[int], vertical: bool, color, width: int) -> None:
    limit = canvas.shape[1] if vertical else canvas.shape[0]
    for position in positions_px:
        low, high = max(0, position - width // 2), min(limit, position - width // 2 + width)
        if vertical:
            canvas[:, low:high] = color
        else:
            canvas[low:high, :] = color


def _cell_size(geometry: StageGeometry, side: int) -> int:
    return max(2, side // max(geometry.padded))


def _draw_token_grid(canvas: np.ndarray, geometry: StageGeometry, cell: int) -> None:
    """Faint lines between tokens, left out when tokens are too small for lines to help."""
    if cell < 10:
        return
    for i in range(1, geometry.padded[1]):
        canvas[:, i * cell] = 0.5 * canvas[:, i * cell] + 127
    for i in range(1, geometry.padded[0]):
        canvas[i * cell, :] = 0.5 * canvas[i * cell, :] + 127


def partition_picture(view: np.ndarray, geometry: StageGeometry, shifted: bool, side: int = 448) -> np.ndarray:
    """The picture with the token grid (thin) and the windows (thick). Shifted:
    windows start `shift` tokens in, and each token is tinted by the sub-region
    it lands in after the cyclic shift, so the wrapped-around windows show."""
    cell = _cell_size(geometry, side)
    canvas = _token_picture(view, geometry, cell)
    height, width = geometry.grid
    if shifted and geometry.shift:
        labels = region_labels(geometry.padded, geometry.window, geometry.shift)[:height, :width]
        where_from = torch.roll(labels, shifts=(geometry.shift, geometry.shift), dims=(0, 1)).numpy()
        tint = np.kron(REGION_COLORS[where_from], np.ones((cell, cell, 1)))
        canvas[: height * cell, : width * cell] = 0.6 * canvas[: height * cell, : width * cell] + 0.4 * tint
    _draw_token_grid(canvas, geometry, cell)
    offset = geometry.shift if shifted else 0
    for vertical, count in ((True, geometry.padded[1]), (False, geometry.padded[0])):
        lines = [((k * geometry.window + offset) % count) * cell for k in range(count // geometry.window + 1)]
        _draw_lines(canvas, lines, vertical, (255, 40, 40), 3)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _ring_token(canvas: np.ndarray, token: tuple[int, int], cell: int, min_side: int) -> None:
    """Rings `token`'s cell red inside white, centred on it and at least `min_side` px across
    (clipped at the picture's edges): at 56×56 tokens a cell is 5-8 px, too small to find on a
    projector otherwise. The cell itself stays visible inside the ring."""
    side = max(cell, min_side)
    centre_y, centre_x = (token[0] + 0.5) * cell, (token[1] + 0.5) * cell
    for color, half in (((255, 255, 255), side / 2 + 3), ((230, 20, 20), side / 2)):
        top, left = round(centre_y - half), round(centre_x - half)
        box = (slice(max(top, 0), max(top + round(2 * half), 0)), slice(max(left, 0), max(left + round(2 * half), 0)))
        hole = (slice(max(top + 3, 0), max(top + round(2 * half) - 3, 0)),
                slice(max(left + 3, 0), max(left + round(2 * half) - 3, 0)))
        inside = canvas[hole].copy()
        canvas[box] = color
        canvas[hole] = inside


def mark_token(picture: np.ndarray, geometry: StageGeometry, token: tuple[int, int], side: int = 448) -> np.ndarray:
    """A copy of a `partition_picture` with `token` ringed."""
    marked = picture.copy()
    _ring_token(marked, token, _cell_size(geometry, side), min_side=18)
    return marked


def shift_frames(view: np.ndarray, geometry: StageGeometry, side: int = 448) -> list[np.ndarray]:
    """The cyclic shift step by step: the map rolled up and left by 0, 1, …, shift
    tokens under fixed windows; the last frame tints the sub-regions."""
    cell = _cell_size(geometry, side)
    height, width = geometry.grid
    base = resized_view(view, height * cell, width * cell)
    frames = []
    for step in range(geometry.shift + 2):
        rolled_by = min(step, geometry.shift)
        canvas = np.broadcast_to(_PADDING, (geometry.padded[0] * cell, geometry.padded[1] * cell, 3)).copy()
        canvas[: height * cell, : width * cell] = np.roll(base, (-rolled_by * cell, -rolled_by * cell), axis=(0, 1))
        if step == geometry.shift + 1:
            labels = region_labels(geometry.padded, geometry.window, geometry.shift).numpy()
            canvas = 0.55 * canvas + 0.45 * np.kron(REGION_COLORS[labels], np.ones((cell, cell, 1)))
        _draw_token_grid(canvas, geometry, cell)
        for vertical, count in ((True, geometry.padded[1]), (False, geometry.padded[0])):
            _draw_lines(canvas, [k * geometry.window * cell for k in range(count // geometry.window + 1)],
                        vertical, (255, 40, 40), 3)
        frames.append(np.clip(canvas, 0, 255).astype(np.uint8))
    return frames


def _region_centres(geometry: StageGeometry) -> list[tuple[float, float, int]]:
    """(x, y, label) at the middle of each sub-region band, in tokens."""
    labels = region_labels(geometry.padded, geometry.window, geometry.shift).numpy()
    centres = []
    for label in range(9):
        rows, cols = np.nonzero(labels == label)
        if len(rows):
            centres.append((cols.mean() + 0.5, rows.mean() + 0.5, label))
    return centres


def shift_animation_figure(frames_png: list[str], geometry: StageGeometry, side_px: tuple[int, int],
                           height: int = 560) -> go.Figure:
    """Plotly frames with a slider and a play button over precomputed PNG frames."""
    width, picture_height = side_px
    cell = width / geometry.padded[1]
    names = [f"rolled by {min(i, geometry.shift)}" for i in range(geometry.shift + 1)] + ["windows cut"]
    labels = [go.Scatter(x=[x * cell for x, _, _ in _region_centres(geometry)],
                         y=[y * cell for _, y, _ in _region_centres(geometry)],
                         text=[str(label) for _, _, label in _region_centres(geometry)], mode="text",
                         textfont=dict(size=18, color="white"), hoverinfo="skip")]
    hidden = [go.Scatter(x=[], y=[], mode="text")]
    figure = go.Figure(
        data=[go.Image(source=frames_png[0], x0=0.5, y0=0.5, hoverinfo="skip"), *hidden],
        frames=[go.Frame(name=name, data=[go.Image(source=png, x0=0.5, y0=0.5, hoverinfo="skip"),
                                          *(labels if i == len(frames_png) - 1 else hidden)])
                for i, (name, png) in enumerate(zip(names, frames_png))],
    )
    steps = [dict(method="animate", label=name, args=[[name], dict(mode="immediate", frame=dict(duration=0,
                                                                                               redraw=True))])
             for name in names]
    figure.update_layout(
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.02, xanchor="left", yanchor="top",
                          font=dict(size=15),
                          buttons=[dict(label="▶ Play", method="animate",
                                        args=[None, dict(frame=dict(duration=700, redraw=True), fromcurrent=False,
                                                         transition=dict(duration=0))])])],
        # Ends short of the right edge: the last step's label is centred on its tick and was cut there.
        sliders=[dict(steps=steps, x=0.14, len=0.78, y=-0.02, font=dict(size=13),
                      currentvalue=dict(prefix="Step: ", font=dict(size=15)))],
        showlegend=False,
    )
    picture_layout(figure, width, picture_height, None, height)
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=70))
    return figure


def window_labels_figure(geometry: StageGeometry, window_index: int) -> go.Figure:
    """One shifted window: which sub-region each of its tokens came from."""
    labels = region_labels(geometry.padded, geometry.window, geometry.shift)
    window_labels = window_partition(labels[None, ..., None], geometry.window)[window_index, ..., 0].numpy()
    colors = REGION_COLORS[window_labels].astype(np.uint8)
    figure = go.Figure(image_trace(np.kron(colors, np.ones((24, 24, 1), dtype=np.uint8))))
    size = geometry.window * 24
    figure.add_trace(go.Scatter(
        x=[(c + 0.5) * 24 for r in range(geometry.window) for c in range(geometry.window)],
        y=[(r + 0.5) * 24 for r in range(geometry.window) for c in range(geometry.window)],
        text=[str(v) for v in window_labels.reshape(-1)], mode="text", textfont=dict(color="white", size=15),
        hovertext=[f"token {i}: sub-region {v}" for i, v in enumerate(window_labels.reshape(-1))],
        hoverinfo="text"))
    return picture_layout(figure, size, size, f"Window {window_index}: sub-regions", 340)


def mask_figure(mask: torch.Tensor, labels: np.ndarray, title: str) -> go.Figure:
    """The N×N additive mask of one window (0: may attend, −100: masked), with a
    strip of sub-region colours along both axes, as on the picture."""
    strip = REGION_COLORS[labels].astype(np.uint8)
    figure = make_subplots(rows=2, cols=2, column_widths=[0.05, 0.95], row_heights=[0.05, 0.95],
                           horizontal_spacing=0.005, vertical_spacing=0.005, shared_xaxes=True, shared_yaxes=True)
    figure.add_trace(go.Image(z=strip[None], hoverinfo="skip"), row=1, col=2)
    figure.add_trace(go.Image(z=strip[:, None], hoverinfo="skip"), row=2, col=1)
    figure.add_trace(go.Heatmap(
        z=mask.numpy(), zmin=MASKED, zmax=0, colorscale=[[0, "#30343c"], [1, "#f4f4f4"]], showscale=False,
        customdata=np.stack(np.broadcast_arrays(labels[:, None], labels[None, :]), axis=-1),
        hovertemplate="query %{y} (region %{customdata[0]}) → key %{x} (region %{customdata[1]}): "
                      "%{z:.0f}<extra></extra>"), row=2, col=2)
    figure.update_yaxes(autorange="reversed", showticklabels=False, ticks="")
    figure.update_xaxes(showticklabels=False, ticks="")
    tokens = len(labels)
    ticks = dict(tickmode="array", tickvals=list(range(0, tokens, max(1, tokens // 8))), showticklabels=True,
                 tickfont=dict(size=13))
    figure.update_xaxes(title=dict(text="key token (row-major in the window)", font=dict(size=14)), side="bottom",
                        row=2, col=2, **ticks)
    figure.update_yaxes(title=dict(text="query token", font=dict(size=14)), side="right", row=2, col=2, **ticks)
    figure.update_layout(title=title, height=420, margin=dict(l=10, r=10, t=40, b=10))
    return figure


def windows_table(stages: list[StageGeometry]) -> list[dict[str, object]]:
    rows = []
    for g in stages:
        padding = "none" if g.padded == g.grid else f"{g.grid[0]}→{g.padded[0]} tokens"
        shift = "0 (forced: one window covers the map)" if g.forced_zero_shift else str(g.shift)
        rows.append({"Stage": g.stage + 1, "Tokens": f"{g.grid[0]}×{g.grid[1]}", "Channels": g.channels,
                     "Window": f"{g.window}×{g.window}", "Windows": g.window_count, "Shift": shift,
                     "Padding": padding, "Pixels per token": g.pixels_per_token})
    return rows


def patch_merging_figure(stages: list[StageGeometry]) -> go.Figure:
    """2×2 neighbourhoods (x0, x1, x2, x3 as in Swin's code) concatenated: half
    the resolution, four times the channels, then a linear layer to twice."""
    colors = list(PALETTE[:4])  # x0 (even row, even col), x1, x2, x3
    shapes, annotations = [], []
    for r in range(4):
        for c in range(4):
            part = (r % 2) + 2 * (c % 2)  # x0: (0, 0), x1: (1, 0), x2: (0, 1), x3: (1, 1)
            shapes.append(dict(type="rect", x0=c, y0=r, x1=c + 0.95, y1=r + 0.95, fillcolor=colors[part],
                               line_width=0))
            annotations.append(dict(x=c + 0.47, y=r + 0.47, text=f"x{part}", showarrow=False,
                                    font=dict(color="white", size=18)))
    for r in range(2):
        for c in range(2):
            for part in range(4):
                left = 6 + c * 1.2 + part * 0.25
                shapes.append(dict(type="rect", x0=left, y0=1 + r * 1.2, x1=left + 0.24, y1=2.1 + r * 1.2,
                                   fillcolor=colors[part], line_width=0))
    sizes = " → ".join(f"{g.grid[0]}×{g.grid[1]}×{g.channels}" for g in stages)
    annotations += [
        dict(x=4.9, y=2, ax=4.1, ay=2, xref="x", yref="y", axref="x", ayref="y", text="", showarrow=True,
             arrowhead=2, arrowwidth=2),
        dict(x=4.5, y=4.75, text=f"H×W×C → H/2×W/2×4C → Linear → H/2×W/2×2C<br>{sizes}", showarrow=False,
             font=dict(size=17)),
    ]
    # One layout dict: plotly validates each add_shape call separately, 50 of them cost 80 ms.
    return go.Figure(layout=dict(
        shapes=shapes, annotations=annotations, height=400, margin=dict(l=0, r=0, t=10, b=0),
        plot_bgcolor="white", xaxis=dict(visible=False, range=[-0.2, 8.8]),
        yaxis=dict(visible=False, range=[5.6, -0.2], scaleanchor="x"),
    ))


def reach_figure(swin: list[float], vit: list[float], block_names: list[str]) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=block_names, y=[100 * f for f in swin], name="Swin (shifted windows)",
                                mode="lines+markers", line=dict(color=BLUE)))
    figure.add_trace(go.Scatter(x=block_names[: len(vit)], y=[100 * f for f in vit], name="ViT (global attention)",
                                mode="lines+markers", line=dict(color=ORANGE, dash="dash")))
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=1.12),
                         yaxis=dict(title="share of the image one token can see (%)", range=[0, 105]),
                         xaxis=dict(title="after block", type="category"))
    return figure


def reach_picture(view: np.ndarray, reach: np.ndarray, token: tuple[int, int], side: int = 448) -> np.ndarray:
    """The picture dimmed outside the tokens that can reach `token` (outlined)."""
    cell = max(2, side // max(reach.shape))
    picture = resized_view(view, reach.shape[0] * cell, reach.shape[1] * cell)
    keep = np.kron(reach, np.ones((cell, cell)))[..., None]
    canvas = picture * (0.25 + 0.75 * keep)
    r, c = token
    canvas[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = (255, 40, 40)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def window_attention_mosaic(view: np.ndarray, maps: np.ndarray, hidden: np.ndarray, token: tuple[int, int],
                            colormap: str = "Inferno", tile: int = 320, max_side: int = 1024) -> Mosaic:
    """One tile per head: the picture, dimmed outside the token's window, the
    attention colouring the window (each head scaled to its own maximum), masked
    keys in grey and the token ringed."""
    heads, height, width = maps.shape
    cols = int(np.ceil(np.sqrt(heads)))
    cell = max(1, min(tile, max_side // cols) // max(height, width))
    picture = resized_view(view, height * cell, width * cell)
    tiles = []
    inside = np.kron(~np.isnan(maps[0]), np.ones((cell, cell), bool))
    masked = np.kron(hidden, np.ones((cell, cell), bool))
    for head in range(heads):
        values = np.nan_to_num(maps[head], nan=0.0)
        colored = apply_colormap(np.kron(values / max(values.max(), 1e-12), np.ones((cell, cell))), colormap)
        tile_image = np.where(inside[..., None], 0.35 * picture + 0.65 * colored, 0.3 * picture)
        tile_image[masked] = (150, 150, 150)
        _ring_token(tile_image, token, cell, min_side=12)
        tiles.append(np.clip(tile_image, 0, 255).astype(np.uint8))
    return tiled(np.stack(tiles), cols=cols)


def frames_as_png(frames: list[np.ndarray]) -> list[str]:
    return [png_data_uri(frame) for frame in frames]
