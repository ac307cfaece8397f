"""Memory checks in a fresh process, so that no other test's threads or caches
move the resident-set size; prints a JSON line.

    python -m tests.memory_probe attributions   # 50 warm + 100 captures, Grad-CAMs, Saliencies
    python -m tests.memory_probe training       # 10 warm + 50 training runs started and stopped
    python -m tests.memory_probe decode FILE    # peak memory of decoding one picture

Imports stay inside each probe so that the decode probe's process holds no models.
"""

import gc
import json
import sys
from pathlib import Path

from app.images import decode_image
from app.serving.allocator import keep_freed_memory


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def decode_peak(path: str) -> dict:
    """How far the resident-set size rises above where it stood, file in hand, while decoding."""
    data = Path(path).read_bytes()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident-set size (Linux)
    before = rss_mb()
    decoded = decode_image(data, Path(path).name)
    return {"peak_rise_mb": peak_rss_mb() - before, "size": decoded.size, "notes": decoded.notes}


def attribution_rounds() -> dict:
    import pretrained
    from app.attribution import methods as attributions
    from app.cnn.capture import FeatureExtractor, capture_activations
    from app.preprocess import model_view, normalize
    from app.samples import sample_bytes

    loaded = pretrained.load_model("efficientnet_lite0")
    spec = loaded.spec
    extractor = FeatureExtractor(loaded.model, spec.layers, spec.framework, 224)
    batch = normalize(model_view(decode_image(sample_bytes("cat")).rgb, spec.preprocessing), spec.preprocessing)

    def round_trip():
        capture_activations(extractor, batch)
        attributions.grad_cam(loaded.model, spec.cam_layer, batch, 282)
        attributions.saliency(loaded.model, batch, 282)

    for _ in range(50):
        round_trip()
    gc.collect()
    before = rss_mb()
    for _ in range(100):
        round_trip()
    gc.collect()
    hooked = [n for n, m in loaded.model.named_modules() if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks]
    grads = any(p.requires_grad or p.grad is not None for p in loaded.model.parameters())
    return {"growth_mb": rss_mb() - before, "hooked": hooked, "parameter_grads": grads}


def training_rounds() -> dict:
    import threading
    import time

    from app.serving.run_owner import RunOwner
    from app.training.datasets import SOURCES, split
    from app.training.loop import TrainingConfig
    from app.training.runs import TrainingRun

    data = split(SOURCES["Digits (8×8, scikit-learn)"].load(), 200, seed=0)

    def start_and_stop():
        run = TrainingRun("r", TrainingConfig(model="LeNet-5", epochs=100), data, RunOwner()).start()
        time.sleep(0.05)  # let it take a few steps
        run.stop()
        run.thread.join(timeout=10)

    for _ in range(10):
        start_and_stop()
    gc.collect()
    before, threads = rss_mb(), threading.active_count()
    for _ in range(50):
        start_and_stop()
    gc.collect()
    return {"growth_mb": rss_mb() - before, "extra_threads": threading.active_count() - threads}


if __name__ == "__main__":
    keep_freed_memory()  # the app's allocator settings
    probes = {"attributions": attribution_rounds, "training": training_rounds, "decode": decode_peak}
    print(json.dumps(probes[sys.argv[1]](*sys.argv[2:])))
