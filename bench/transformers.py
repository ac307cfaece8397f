"""The Inside-the-Transformer page's cost, in one run (issue 19).

    .venv/bin/python -m bench.transformers

1. First render of each view: what the page computes and draws on a cold cache (the captures or
   the walk-through, then the pictures and figures it shows), against the bare forward passes of
   the same networks that the view needs (timm's or torchvision's own forward, fused attention
   and all); interleaved, median of each. Seeded random weights: the cost does not depend on them.
   - self-attention on an image: ViT-B/16 at 224², walked to its last block (the slowest), against
     one forward;
   - four families: EfficientNet-Lite0, ViT-B/16, DINO ViT-S/16 and Swin-T, against their four
     forwards;
   - DINO's features: DINO ViT-S/16, and DINOv2 ViT-S/14 with registers, against one forward (the
     register section's token norms and its two maps included);
   - Feature maps on MLP-Mixer B/16 and CvT-13: the capture and the first layer's mosaic, against
     one forward (transformers' own for CvT);
   - DETR: transformers' DETR ResNet-50 on the cat at its 1202×800 (its attention read by hooks
     and recomputed), and the project's small DETR on a scene (its own attention kept), each
     with its figures, against one forward of the same network. The small DETR's forward takes about
     a millisecond: its ratio measures its figures, so the bench prints the times too.
2. Warm redraws: the pages' script runs with their results cached, per view (the sentence, the
   image walk-through with the tiny ViT, the four families, DINO's features; DETR's three tabs
   with the small DETR and its boxes with DETR ResNet-50), median of 9 AppTest runs (AppTest's
   own overhead included); the largest is reported.

Last line: `transformers: steps_ratio=… families_ratio=… features_ratio=… dinov2_registers_ratio=…
mixer_ratio=… cvt_ratio=… detr_ratio=… tiny_detr_ratio=… warm_ms=…` (goals: each ratio ≤ 1.5,
warm_ms ≤ 200).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import pretrained
from app.cnn.capture import FeatureExtractor, capture_activations
from app.cnn.figures import mosaic_figure
from app.cnn.layer_stats import channel_order
from app.figures.mosaic import channel_mosaic
from app.figures.overlays import map_overlay_figure
from app.figures.plot_images import encoded
from app.swin.capture import capture_swin
from app.transformer.figures import grid_picture, matrix_picture
from app.transformer.image_walkthrough import walk_through
from app.transformer.matched_depth import concentration, feature_norm, region_overlap
from app.transformer.patch_features import cosine_similarity_to, feature_picture
from app.transformer.registers import token_norms
from app.vit.capture import capture_attention
from bench.page_timing import median_run_ms, settled

VIEWS = [("Self-attention, step by step", "The course's sentence"),
         ("Self-attention, step by step", "The current image"), ("Four families at one depth", None),
         ("DINO's features", None)]
DETR_VIEWS = [("tiny", "Boxes and object queries"), ("tiny", "Encoder attention"), ("tiny", "Bipartite matching"),
              ("resnet50", "Boxes and object queries")]


def _model(name: str) -> tuple[pretrained.ModelSpec, torch.nn.Module]:
    torch.manual_seed(0)
    spec = pretrained.get_spec(name)
    return spec, pretrained.build_model(spec).eval().requires_grad_(False)


def _ratio(ours: Callable[[], object], bare: Callable[[], object], repeats: int) -> float:
    """Median of `ours` over median of `bare`, interleaved, after one warm-up of each (both medians
    printed in ms: a network whose forward takes a millisecond has a ratio set by its figures)."""
    with torch.inference_mode():
        ours(), bare()
        mine, theirs = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            ours()
            mine.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare()
            theirs.append(time.perf_counter() - start)
    print(f"  first render {statistics.median(mine) * 1e3:.0f} ms, "
          f"bare forwards {statistics.median(theirs) * 1e3:.1f} ms")
    return statistics.median(mine) / statistics.median(theirs)


def steps_ratio(repeats: int) -> float:
    _, vit = _model("vit_b16")
    batch = torch.randn(1, 3, 224, 224)
    view = np.zeros((224, 224, 3), dtype=np.uint8)

    def ours():
        walk = walk_through(vit, batch, 12, 0)
        steps = walk.steps
        for matrix in (walk.patches, walk.patch_embedding, walk.position, walk.block_input, steps.u_qkv, steps.q,
                       steps.scores, steps.attention, steps.head_output, steps.concatenated, steps.u_msa, steps.output):
            matrix_picture(matrix, True, 1)
        map_overlay_figure(view, steps.attention[1, 1:].float().reshape(14, 14), height=420)

    return _ratio(ours, lambda: vit(batch), repeats)


def families_ratio(repeats: int) -> float:
    cnn_spec, cnn = _model("efficientnet_lite0")
    extractor = FeatureExtractor(cnn, cnn_spec.layers, cnn_spec.framework, 224)
    _, vit = _model("vit_b16")
    _, dino = _model("dino_vit_s16")
    _, swin = _model("swin_t")
    batch = torch.randn(1, 3, 224, 224)
    view = np.zeros((224, 224, 3), dtype=np.uint8)

    def ours():
        maps = [feature_norm(capture_activations(extractor, batch).activations["blocks.3"]),
                capture_attention(vit, batch).patch_attention(5).mean(dim=0).numpy(),
                capture_attention(dino, batch).patch_attention(5).mean(dim=0).numpy(),
                feature_norm(capture_swin(swin, batch).stage_features[1])]
        for values in maps:
            map_overlay_figure(view, values, height=330)
            concentration(values)
        [region_overlap(a, b) for a in maps for b in maps]

    return _ratio(ours, lambda: (cnn(batch), vit(batch), dino(batch), swin(batch)), repeats)


def features_ratio(repeats: int, name: str = "dino_vit_s16") -> float:
    _, dino = _model(name)
    batch = torch.randn(1, 3, 224, 224)
    view = np.zeros((224, 224, 3), dtype=np.uint8)

    def ours():
        capture = capture_attention(dino, batch)
        features = capture.features[capture.prefix_tokens:].numpy()
        grid_picture(feature_picture(features, capture.grid, masked=True).colours)
        map_overlay_figure(view, cosine_similarity_to(features, 100).reshape(capture.grid), height=380)
        norms = token_norms(capture)  # the register section: token norms and the CLS token's attention
        map_overlay_figure(view, norms.patches, height=380)
        map_overlay_figure(view, capture.patch_attention(capture.layers - 1).mean(0).numpy(), height=380)

    return _ratio(ours, lambda: dino(batch), repeats)


def feature_maps_ratio(repeats: int, name: str) -> float:
    """Feature maps' first render of MLP-Mixer or CvT: the capture, the default layer's mosaic."""
    spec, model = _model(name)
    extractor = FeatureExtractor(model, spec.layers, spec.framework, 224)
    batch = torch.randn(1, 3, 224, 224)
    layer = next(info.name for info in extractor.layers if info.is_spatial)

    def ours():
        activation = capture_activations(extractor, batch).activations[layer]
        mosaic_figure(channel_mosaic(activation, channel_order(activation, "mean")[:256], "Viridis", False))

    return _ratio(ours, lambda: model(batch), repeats)


def detr_ratio(repeats: int) -> float:
    from app.detection.capture import capture_detr
    from app.detection.figures import detections_figure
    from app.images import decode_image
    from app.preprocess import model_view, normalize
    from app.samples import sample_bytes

    spec, detr = _model("detr_resnet50")
    view = model_view(decode_image(sample_bytes("cat")).rgb, spec.preprocessing)
    batch = normalize(view, spec.preprocessing)

    def ours():
        capture = capture_detr(detr, batch)
        detections_figure(view, np.zeros((5, 4)), ["query"] * 5, height=460)
        map_overlay_figure(view, capture.query_map(0), height=460)

    return _ratio(ours, lambda: detr(pixel_values=batch), repeats)


def tiny_detr_ratio(repeats: int) -> float:
    from app.detection.capture import capture_tiny_detr
    from app.detection.figures import detections_figure
    from app.detection.tiny_detr import TinyDetr

    torch.manual_seed(0)
    model = TinyDetr().eval()
    batch = torch.randn(1, 1, 64, 64)
    view = np.zeros((448, 448, 3), dtype=np.uint8)

    def ours():  # the page encodes the scene's picture once for both figures
        capture = capture_tiny_detr(model, batch)
        picture = encoded(view)
        detections_figure(picture, np.zeros((3, 4)), ["query"] * 3, height=460)
        map_overlay_figure(picture, capture.query_map(0), height=460)

    return _ratio(ours, lambda: model(batch), repeats)


def _median_per_view(page: str, views: list, set_view) -> dict[str, float]:
    """{view: median of 9 runs of `page` once `set_view(at, view)` and its background work are done}."""
    from streamlit.testing.v1 import AppTest

    from components.server_state import SHARED_JOBS
    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page(page).run()
    medians = {}
    for view in views:
        set_view(at, view)
        settled(at, SHARED_JOBS)
        medians[" / ".join(v for v in view if v)] = median_run_ms(at, 9)
    return medians


def warm_redraws() -> dict[str, float]:
    """{page / view: median ms of the page's script run with its results cached}."""
    def inside(at, view):
        at.session_state["inside_tab"] = view[0]
        if view[1]:
            at.session_state["steps_on"] = view[1]

    def detr(at, view):
        at.session_state["detr_network"], at.session_state["detr_tab"] = view

    return {**{f"inside the transformer, {k}": v for k, v in
               _median_per_view("pages/transformer_internals.py", VIEWS, inside).items()},
            **{f"DETR, {k}": v for k, v in _median_per_view("pages/detr.py", DETR_VIEWS, detr).items()}}


def main() -> None:
    redraws = warm_redraws()  # first, in a fresh process
    for view, ms in redraws.items():
        print(f"{view}, warm redraw: {ms:.0f} ms (median of 9)")
    ratios = {"steps": steps_ratio(7), "families": families_ratio(5), "features": features_ratio(7),
              "dinov2_registers": features_ratio(7, "dinov2_vit_s14_reg"),
              "mixer": feature_maps_ratio(7, "mixer_b16"), "cvt": feature_maps_ratio(7, "cvt_13"),
              "detr": detr_ratio(3), "tiny_detr": tiny_detr_ratio(9)}
    for view, ratio in ratios.items():
        print(f"first render of {view}, over the bare forwards it needs: {ratio:.2f}")
    print("transformers: " + " ".join(f"{view}_ratio={ratio:.2f}" for view, ratio in ratios.items())
          + f" warm_ms={max(redraws.values()):.0f}")


if __name__ == "__main__":
    main()
