"""The atlas's counts and the effective receptive field's cost, in one run (issue 16).

    .venv/bin/python -m bench.lineage [--images 16]

1. The atlas's numbers the first time on this machine: every architecture built on the meta
   device and its multiply-adds counted (what the table needs), then the receptive fields
   traced in a child process (the page's way), each timed from a cold start of its work.
   Afterwards the page reads them from the server-wide job: timed as the page's script run
   with the job finished, against a one-widget page in the same AppTest.
2. The effective receptive field of ResNet-50's last stage over N images (one batched
   forward to that stage, one backward), against the baseline of N separate forward and
   backward passes of the whole network at batch 1.

Last line: `lineage: atlas_first_s=… atlas_fields_s=… atlas_after_ms=… erf_ratio=…`
(goals: atlas_first_s ≤ 10, atlas_after_ms ≤ 200, erf_ratio ≤ 1.2).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from app.atlas.catalog import ARCHITECTURES, BY_KEY
from app.atlas.cost import count_cost
from app.atlas.erf import effective_receptive_field, layer_output
from app.atlas.receptive import traced_in_child


def atlas_first() -> tuple[float, float]:
    start = time.perf_counter()
    for arch in ARCHITECTURES:
        count_cost(arch)
    counted = time.perf_counter() - start
    start = time.perf_counter()
    list(traced_in_child(list(BY_KEY)))
    return counted, time.perf_counter() - start


def atlas_after(repeats: int = 5) -> float:
    """Median ms of the atlas page's script run once its numbers are computed."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/atlas.py").run()
    from components.server_state import SHARED_JOBS

    for job in list(SHARED_JOBS.values()):
        job.thread.join()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    assert not at.exception and at.dataframe[0].value["GMACs"].notna().all()
    return statistics.median(times) * 1e3


def erf_ratio(count: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    images = torch.randn(count, 3, 224, 224)
    effective_receptive_field(layer_output(model, model.layer4), images[:2])  # warm-up
    start = time.perf_counter()
    effective_receptive_field(layer_output(model, model.layer4), images)
    erf_s = time.perf_counter() - start
    start = time.perf_counter()
    for image in images:
        pixels = image[None].clone().requires_grad_(True)
        model(pixels).sum().backward()
    return erf_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=16)
    args = parser.parse_args()
    counted_s, fields_s = atlas_first()
    print(f"atlas, first time: {len(ARCHITECTURES)} architectures counted in {counted_s:.2f} s; "
          f"receptive fields traced in a child process in {fields_s:.2f} s")
    after_ms = atlas_after()
    print(f"atlas page run with its numbers computed: {after_ms:.0f} ms (median of 5)")
    erf_s, baseline_s = erf_ratio(args.images)
    print(f"ERF of ResNet-50's last stage over {args.images} images: {erf_s:.2f} s; "
          f"{args.images} forward-and-backward passes at batch 1: {baseline_s:.2f} s")
    print(f"lineage: atlas_first_s={counted_s:.2f} atlas_fields_s={fields_s:.2f} atlas_after_ms={after_ms:.0f} "
          f"erf_ratio={erf_s / baseline_s:.2f}")


if __name__ == "__main__":
    main()
