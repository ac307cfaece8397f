"""Run by test_attributions in a fresh process, so that no other test's threads or
caches move the resident-set size: 50 warm-up rounds of capture + Grad-CAM +
Saliency on EfficientNet-Lite0, then 100 measured ones; prints a JSON line."""

import gc
import json

import pretrained
from app import attributions
from app.allocator import keep_freed_memory
from app.classify import model_view, normalize
from app.feature_capture import FeatureExtractor, capture_activations
from app.images import decode_image
from app.samples import sample_bytes


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    keep_freed_memory()  # the app's allocator settings
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
    print(json.dumps({"growth_mb": rss_mb() - before, "hooked": hooked, "parameter_grads": grads}))


if __name__ == "__main__":
    main()
