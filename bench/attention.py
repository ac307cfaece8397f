"""Attention capture against a bare forward with the same (unfused) attention,
and rollout time, in one run.

    .venv/bin/python -m bench.attention [--repeats 15]

ViT-S/16 at 224² for the capture, ViT-B/16 at 224² (12 layers, 197 tokens) for
rollout; untrained architectures (the weights do not change the cost). Last line:
attention: capture_overhead=X rollout_ms=Y
"""

from __future__ import annotations

import argparse
import copy

import timm
import torch

from app.serving.allocator import keep_freed_memory
from app.serving.devices import best_device
from app.vit.capture import capture_attention
from app.vit.maps import attention_rollout
from bench.feature_maps import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()
    device = best_device()
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    small = timm.create_model("vit_small_patch16_224", pretrained=False).eval().requires_grad_(False).to(device)
    unfused = copy.deepcopy(small)  # the baseline's own copy: the measured model keeps timm's defaults
    for block in unfused.blocks:
        block.attn.fused_attn = False
    batch = torch.randn(1, 3, 224, 224, device=device)

    def bare_unfused():
        with torch.inference_mode():
            unfused(batch)

    def bare_fused():
        with torch.inference_mode():
            small(batch)

    unfused_s = median_seconds(bare_unfused, args.repeats, synchronize)
    fused_s = median_seconds(bare_fused, args.repeats, synchronize)
    capture_s = median_seconds(lambda: capture_attention(small, batch), args.repeats, synchronize)

    base = timm.create_model("vit_base_patch16_224", pretrained=False).eval().requires_grad_(False).to(device)
    attentions = capture_attention(base, batch).attentions
    timings = {}
    for fusion, discard in (("mean", 0.0), ("max", 0.9)):
        timings[(fusion, discard)] = median_seconds(lambda: attention_rollout(attentions, fusion, discard),
                                                    args.repeats, lambda: None)
    rollout_s = max(timings.values())
    print(f"device: {device} · torch threads: {torch.get_num_threads()}")
    print(f"ViT-S/16 224²: bare forward {fused_s * 1e3:.1f} ms fused, {unfused_s * 1e3:.1f} ms unfused; "
          f"capture of all 12 layers {capture_s * 1e3:.1f} ms")
    print("ViT-B/16 224² rollout: " + ", ".join(f"{f}/discard {d}: {t * 1e3:.1f} ms" for (f, d), t in timings.items()))
    print(f"attention: capture_overhead={capture_s / unfused_s:.3f} rollout_ms={rollout_s * 1e3:.1f}")


if __name__ == "__main__":
    main()
