"""Effective receptive fields (Luo et al. 2016): how much each input pixel really moves one unit
in the middle of a feature map, as the gradient of that unit with respect to the input,
averaged over images. Luo et al. found it Gaussian-shaped and far smaller than the theoretical
receptive field, growing with the square root of depth; RepLKNet (Ding et al. 2022, Figure 1)
measures it by the share of the image that holds a given share of the contribution."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


class _Reached(Exception):
    """Raised by the hook once the layer has run: nothing after it is computed."""


def layer_output(model: torch.nn.Module, layer: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from images to `layer`'s output that stops the forward pass there."""
    def run(images: torch.Tensor) -> torch.Tensor:
        seen: list[torch.Tensor] = []

        def hook(module, inputs, output):
            seen.append(output)
            raise _Reached

        handle = layer.register_forward_hook(hook)
        try:
            model(images)
        except _Reached:
            pass
        finally:
            handle.remove()
        return seen[0]

    return run


def centre_unit(output: torch.Tensor, layout: str) -> torch.Tensor:
    """The sum over images and channels of the middle unit of a feature map: NCHW maps, NHWC
    maps (Swin), or NLC tokens whose last `side²` are a square grid (ViT: CLS first)."""
    if layout == "NCHW":
        return output[:, :, output.shape[2] // 2, output.shape[3] // 2].sum()
    if layout == "NHWC":
        return output[:, output.shape[1] // 2, output.shape[2] // 2, :].sum()
    side = int((output.shape[1]) ** 0.5)
    prefix = output.shape[1] - side * side
    return output[:, prefix + (side // 2) * side + side // 2, :].sum()


def effective_receptive_field(forward: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                              layout: str = "NCHW") -> np.ndarray:
    """(H, W) mean over images of |∂ centre unit / ∂ pixel|, summed over colours: one forward and
    one backward pass of the whole batch (each image's unit depends on that image only)."""
    pixels = images.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        # autograd.grad, not backward(): no parameter gradients are computed or left on a model
        # that other sessions share.
        [gradient] = torch.autograd.grad(centre_unit(forward(pixels), layout), pixels)
    return gradient.abs().sum(dim=1).mean(dim=0).cpu().numpy()


def module_erf(model: torch.nn.Module, module_name: str, images: torch.Tensor, layout: str = "NCHW") -> np.ndarray:
    """The effective receptive field of the middle unit of the named module's output."""
    return effective_receptive_field(layer_output(model, model.get_submodule(module_name)), images, layout)


def contribution_area(erf: np.ndarray, share: float) -> float:
    """RepLKNet's measure: the smallest fraction of the image whose pixels hold `share` of the
    total contribution (pixels taken from the largest down)."""
    values = np.sort(erf.ravel())[::-1]
    total = values.sum()
    if total <= 0:
        return 0.0
    needed = int(np.searchsorted(np.cumsum(values), share * total) + 1)
    return min(needed, values.size) / values.size


def erf_figure(maps: dict[str, np.ndarray], boxes: dict[str, tuple[float, float, float, float]], cols: int = 3,
               height: int = 560, floor: float = 1e-6):
    """The maps side by side on one colour scale: each as its pixels' shares of its own total
    (log10), drawn as pictures (a constant area of a heatmap was drawn in another colour than its
    value's), with a picture colour bar; `boxes` draws a theoretical receptive field (x0, y0, x1,
    y1 in pixels) on the maps that have one, cut at the image's border."""
    from plotly.subplots import make_subplots

    from app.figures.colormaps import apply_colormap, normalise
    from app.figures.plot_images import image_trace, picture_colorbar

    titles = list(maps)
    cols = min(cols, len(titles))
    rows = -(-len(titles) // cols)
    specs = [[{} for _ in range(cols)] + [{"rowspan": rows} if row == 0 else None] for row in range(rows)]
    # Titles go to the grid's cells in order, the colour bar's cell (the first row's last) included.
    cell_titles = [*titles[:cols], "", *titles[cols:]] if len(titles) > cols else titles
    figure = make_subplots(rows=rows, cols=cols + 1, subplot_titles=cell_titles, horizontal_spacing=0.02,
                           vertical_spacing=0.08, column_widths=[1.0] * cols + [0.04], specs=specs)
    shown = {title: np.log10(np.maximum(erf / erf.sum() if erf.sum() > 0 else erf, floor)) for title, erf in maps.items()}
    low, high = float(np.log10(floor)), max(float(z.max()) for z in shown.values())
    for index, (title, z) in enumerate(shown.items()):
        h, w = z.shape
        row, col = divmod(index, cols)
        figure.add_trace(image_trace(apply_colormap(normalise(z, low, high), "Inferno")), row=row + 1, col=col + 1)
        if title in boxes:
            x0, y0, x1, y1 = boxes[title]
            figure.add_shape(type="rect", x0=max(x0, 0), x1=min(x1, w), y0=max(y0, 0), y1=min(y1, h),
                             line=dict(color="white", width=2, dash="dot"), row=row + 1, col=col + 1)
        figure.update_xaxes(range=[0, w], visible=False, row=row + 1, col=col + 1)
        figure.update_yaxes(range=[h, 0], visible=False, scaleanchor=figure.data[-1].xaxis, row=row + 1,
                            col=col + 1)
    picture_colorbar(figure, 1, cols + 1, "Inferno", low, high, "share of the total (log10)",
                     ticks=list(range(int(np.ceil(low)), int(np.floor(high)) + 1)), tickformat=".0f")
    figure.update_layout(height=height, margin=dict(l=10, r=60, t=40, b=10), plot_bgcolor="white")
    return figure
