"""Feature-map capture, Grad-CAM and a warm redraw, against a bare forward, in one run.

    .venv/bin/python -m bench.feature_maps [--repeats 15]

ResNet-50 (its architecture; the weights do not change the cost) at 224² on
whatever device app.serving.devices picks, with the allocator settings the app uses
(app.serving.allocator). Last line:
feature_maps: capture_overhead=X gradcam_overhead=Y warm_ms=Z
"""

from __future__ import annotations

import argparse
import statistics
import time

import plotly.io
import torch

import pretrained
from app.attribution.methods import grad_cam
from app.cnn.capture import FeatureExtractor, capture_activations
from app.cnn.figures import histogram_figure, mosaic_figure, vector_figure
from app.cnn.layer_stats import channel_order, layer_stats, strongest_unit
from app.figures.mosaic import channel_mosaic
from app.figures.overlays import map_overlay_figure
from app.images import decode_image
from app.preprocess import model_view, normalize
from app.samples import sample_bytes
from app.serving.allocator import keep_freed_memory
from app.serving.devices import best_device


def median_seconds(action, repeats: int, synchronize) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        action()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def redraw(capture, extractor, view, layer: str) -> None:
    """What the page does server-side when the layer or channel changes, up to the JSON sent."""
    info = extractor.layer(layer)
    activation = capture.activations[layer]
    stats = layer_stats(activation)
    figures = [histogram_figure(stats)]
    if info.is_spatial:
        order = channel_order(activation, "mean")
        figures.append(mosaic_figure(channel_mosaic(activation, order[:256], "Viridis")))
        channel_map = activation[int(order[0])]
        figures.append(map_overlay_figure(view, channel_map, box=info.receptive_field.box(*strongest_unit(channel_map))))
    else:
        figures.append(vector_figure(activation))
    for figure in figures:
        plotly.io.to_json(figure)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    tuned = keep_freed_memory()
    device = best_device()
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    spec = pretrained.get_spec("resnet50")
    model = pretrained.build_model(spec).eval().requires_grad_(False).to(device)
    extractor = FeatureExtractor(model, spec.layers, spec.framework, 224)
    view = model_view(decode_image(sample_bytes("cat")).rgb, spec.preprocessing)
    batch = normalize(view, spec.preprocessing).to(device)

    def bare_forward():
        with torch.inference_mode():
            model(batch)

    forward_s = median_seconds(bare_forward, args.repeats, synchronize)
    capture_s = median_seconds(lambda: capture_activations(extractor, batch), args.repeats, synchronize)
    gradcam_s = median_seconds(lambda: grad_cam(model, spec.cam_layer, batch, 281), args.repeats, synchronize)
    capture = capture_activations(extractor, batch)
    redraws = {layer: median_seconds(lambda layer=layer: redraw(capture, extractor, view, layer), 5, synchronize)
               for layer in spec.layers}
    warm_s = statistics.median(redraws.values())
    slowest = max(redraws, key=redraws.get)
    print(f"device: {device} · torch threads: {torch.get_num_threads()} · {len(spec.layers)} layers captured"
          f" · malloc tuned: {tuned}")
    print(f"bare forward {forward_s * 1e3:.1f} ms · capture {capture_s * 1e3:.1f} ms · "
          f"Grad-CAM {gradcam_s * 1e3:.1f} ms")
    print(f"redraw median {warm_s * 1e3:.0f} ms · slowest {slowest} {redraws[slowest] * 1e3:.0f} ms")
    print(f"feature_maps: capture_overhead={capture_s / forward_s:.3f} gradcam_overhead={gradcam_s / forward_s:.3f} "
          f"warm_ms={warm_s * 1e3:.0f}")


if __name__ == "__main__":
    main()
