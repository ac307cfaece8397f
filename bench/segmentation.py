"""The dense-prediction page's cost, in one run (issue 17).

    .venv/bin/python -m bench.segmentation [--repeats 30]

1. The U-Net on the photo as the page runs it: every level's maps kept (encoder, bottleneck,
   upsampled, decoder) and the mask, against the baseline of a bare forward of the same
   network on the same input; at the page's 64×64, and at 256×256 where the convolutions
   dominate. Runs alternate, medians compared.
2. FCN-ResNet50 (the page's first VOC network) and LR-ASPP MobileNetV3 (the lightest), untrained
   offline (speed does not depend on the weights' values), at their 520 px view: the page's
   pixel classes (scores, softmax, confidence, entropy) against a bare forward. Not a figure of
   the issue (nothing is captured there), but what a student waits for.
3. Warm redraws: the page's script run with every result cached, on each of its tabs, median
   of 9 AppTest runs each (AppTest's own overhead included).

Last line: `segmentation: capture_ratio=… capture_ratio_256=… fcn_ratio=… lraspp_ratio=… warm_max_ms=…`
(goals: capture ratios ≤ 1.3, the slowest tab's warm redraw ≤ 200 ms).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from app.images import decode_image
from app.preprocess import model_view, normalize
from app.samples import DEFAULT_SAMPLE, SAMPLES, sample_bytes
from app.segmentation.data import photo_view
from app.segmentation.segment import segment
from app.segmentation.shipped import shipped_unet
from app.segmentation.voc import pixel_classes
from app.training.fashion_mnist import to_input
from bench.page_timing import median_run_ms, settled


def alternated(first, second, repeats: int) -> float:
    """Median time of `first` over the median time of `second`, run in turns after a warm-up."""
    first(), second()
    times = ([], [])
    for _ in range(repeats):
        for index, call in enumerate((first, second)):
            start = time.perf_counter()
            call()
            times[index].append(time.perf_counter() - start)
    return statistics.median(times[0]) / statistics.median(times[1])


def capture_ratio(picture, repeats: int) -> float:
    model, _ = shipped_unet("unet")
    batch = to_input(picture[None])

    @torch.inference_mode()
    def bare():
        model(batch)

    return alternated(lambda: segment(model, picture), bare, repeats)


def voc_ratio(rgb, name: str, repeats: int) -> float:
    import pretrained

    loaded = pretrained.load_model(name)
    batch = normalize(model_view(rgb, loaded.spec.preprocessing), loaded.spec.preprocessing)

    @torch.inference_mode()
    def bare():
        loaded.model(batch)["out"]

    return alternated(lambda: pixel_classes(loaded.model, batch), bare, repeats)


TABS = [("Skip connections (U-Net)", "seg_view", view) for view in
        ("Masks and scores", "Level by level", "Upsampling", "Seg-Grad-CAM")] + \
       [("Pascal VOC networks", "voc_view", view) for view in
        ("Classes on your picture", "Any input size", "Seg-Grad-CAM")]


def warm_redraws(repeats: int = 9) -> dict[str, float]:
    """{tab: median ms of the page's script run with its results cached}, every tab of the page."""
    from streamlit.testing.v1 import AppTest

    from components.server_state import SHARED_JOBS
    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/dense_prediction.py").run()
    medians = {}
    for tab, key, view in TABS:
        at.session_state["seg_tab"] = tab
        at.session_state[key] = view
        settled(at, SHARED_JOBS)
        medians[f"{tab} / {view}"] = median_run_ms(at, repeats)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    redraws = warm_redraws()  # first, in a fresh process: the ratios below allocate gigabytes
    for tab, ms in redraws.items():
        print(f"warm redraw, {tab}: {ms:.0f} ms (median of 9)")
    rgb = decode_image(sample_bytes(DEFAULT_SAMPLE), SAMPLES[DEFAULT_SAMPLE].title).rgb
    picture = photo_view(rgb)
    ratio = capture_ratio(picture, args.repeats)
    print(f"U-Net at 64×64, every level kept + mask over a bare forward: {ratio:.2f}")
    large = torch.nn.functional.interpolate(torch.from_numpy(picture)[None, None].float(), size=(256, 256))
    ratio_256 = capture_ratio(large[0, 0].to(torch.uint8).numpy(), max(3, args.repeats // 3))
    print(f"U-Net at 256×256, the same: {ratio_256:.2f}")
    fcn = voc_ratio(rgb, "fcn_resnet50", 3)
    print(f"FCN-ResNet50 (the page's first) at 520 px, the page's pixel classes over a bare forward: {fcn:.2f}")
    voc = voc_ratio(rgb, "lraspp_mobilenet_v3_large", max(3, args.repeats // 6))
    print(f"LR-ASPP MobileNetV3 at 520 px, the same: {voc:.2f}")
    print(f"segmentation: capture_ratio={ratio:.2f} capture_ratio_256={ratio_256:.2f} fcn_ratio={fcn:.2f} "
          f"lraspp_ratio={voc:.2f} "
          f"warm_max_ms={max(redraws.values()):.0f}")


if __name__ == "__main__":
    main()
