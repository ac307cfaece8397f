"""The GPU path in one call: each page's computation on CUDA against the CPU's result.

Runs on real tensors (scikit-image's astronaut, the 8×8 digits, the shipped LeNet):
CNN capture and Grad-CAM on EfficientNet-Lite0 (real weights) and an untrained ResNet-50,
the feature-map capture of an untrained MLP-Mixer and CvT-13, the self-attention walk-through of an
untrained ViT-B/16, the DETR capture of the shipped small DETR and an untrained DETR ResNet-50, ViT attention on the tiny ViT and an untrained ViT-B/16, Swin capture on the tiny Swin and
an untrained Swin-T, one seeded training epoch, a 5×5 loss-landscape grid, the shipped U-Net and
an untrained LR-ASPP on the astronaut, and on the camera-pan sample clip an untrained R3D-18's
capture and space-time Grad-CAM and the five shipped motion networks. Float32
with TF32 off and deterministic cuDNN, so the two devices differ only by the order of
float additions: each output must agree within its kind's tolerance (TOLERANCE), measured
as the largest difference over the largest magnitude of the CPU's output.

    python -m bench.gpu_check               # every item
    python -m bench.gpu_check --cpu-only --quick

Without CUDA (or with --cpu-only) the CPU is compared with a second CPU run: a check that
each item is deterministic, which the GPU comparison relies on, and no GPU figure.
Last line: `gpu_check: items=N passed=N max_rel_err=... speedup_median=...`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

# Deterministic cuBLAS needs its workspace fixed before CUDA starts.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import skimage.color  # noqa: E402
import skimage.data  # noqa: E402
import skimage.transform  # noqa: E402
import torch  # noqa: E402

import pretrained  # noqa: E402
from app.attribution.methods import grad_cam  # noqa: E402
from app.cnn.capture import FeatureExtractor, capture_activations  # noqa: E402
from app.detection.capture import capture_detr, capture_tiny_detr  # noqa: E402
from app.landscape.grid import EvaluationSet, evaluate_grid, filter_normalized_direction  # noqa: E402
from app.preprocess import preprocess  # noqa: E402
from app.swin.capture import capture_swin  # noqa: E402
from app.training.datasets import SOURCES, split  # noqa: E402
from app.training.loop import TrainingConfig, train  # noqa: E402
from app.transformer.image_walkthrough import walk_through  # noqa: E402
from app.video import moving_fashion  # noqa: E402
from app.video.network_input import clip_batch, clip_view  # noqa: E402
from app.video.samples import sample_clip  # noqa: E402
from app.video.space_time import SpaceTimeExtractor  # noqa: E402
from app.video.space_time_cam import space_time_grad_cam  # noqa: E402
from app.vit.capture import capture_attention  # noqa: E402

# Largest |cuda - cpu| over the largest |cpu| allowed, per kind of output. Forward passes in
# float32 differ by summation order (~1e-6 relative per layer, growing with depth); Grad-CAM
# divides by its own maximum; a training epoch compounds 23 SGD steps; a landscape point is a
# mean loss over 1,000 images.
TOLERANCE = {"forward": 1e-3, "attention": 1e-3, "grad_cam": 5e-3, "training": 5e-3, "landscape": 1e-4}
Outputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Item:
    name: str
    kind: str  # a key of TOLERANCE
    run: Callable[[torch.device], Outputs]  # builds on the device (untimed), returns a timed computation
    quick: bool = False  # tiny enough for --quick


def astronaut_batch(spec, device) -> torch.Tensor:
    return preprocess(skimage.data.astronaut(), spec.preprocessing).to(device)


def registry_model(name: str, trained: bool, device) -> tuple:
    """A registry model on `device`: its shipped weights, or seeded random ones."""
    spec = pretrained.get_spec(name)
    if trained:
        return spec, pretrained.load_model(name, device=str(device)).model
    torch.manual_seed(0)
    return spec, pretrained.build_model(spec).eval().requires_grad_(False).to(device)


def cnn_items(name: str, trained: bool) -> list[Item]:
    def capture(device):
        spec, model = registry_model(name, trained, device)
        extractor = FeatureExtractor(model, spec.layers, spec.framework, spec.preprocessing.input_size)
        batch = astronaut_batch(spec, device)

        def compute():
            capture = capture_activations(extractor, batch)
            return {**capture.activations, "logits": capture.logits}

        return compute

    def cam(device):
        spec, model = registry_model(name, trained, device)
        batch = astronaut_batch(spec, device)
        # The target is fixed (class 0) so that both devices explain the same class.
        return lambda: {"grad_cam": grad_cam(model, spec.cam_layer, batch, target=0)}

    return [Item(f"CNN capture · {name}", "forward", capture), Item(f"Grad-CAM · {name}", "grad_cam", cam)]


def _transformer_item(title: str, kind: str, name: str, trained: bool, outputs) -> Item:
    """One registry transformer on the astronaut; `outputs(model, batch)` gives the tensors to compare."""
    def run(device):
        spec, model = registry_model(name, trained, device)
        batch = astronaut_batch(spec, device)
        return lambda: outputs(model, batch)

    return Item(f"{title} · {name}", kind, run, quick=trained)


def _attention_outputs(model, batch) -> dict:
    capture = capture_attention(model, batch)
    return {"attentions": capture.attentions, "logits": capture.logits}


def _swin_outputs(model, batch) -> dict:
    capture = capture_swin(model, batch)
    outputs = {f"attention {b.stage}.{b.block}": b.attention for b in capture.blocks}
    outputs.update({f"stage {i}": f for i, f in enumerate(capture.stage_features)})
    return outputs | ({"logits": capture.logits} if capture.logits is not None else {})


def vit_item(name: str, trained: bool) -> Item:
    return _transformer_item("ViT attention", "attention", name, trained, _attention_outputs)


def swin_item(name: str, trained: bool) -> Item:
    return _transformer_item("Swin capture", "attention", name, trained, _swin_outputs)


def training_item() -> Item:
    def run(device):
        data = split(SOURCES["Digits (8×8, scikit-learn)"].load(), 300, seed=0, device=device)
        # Plain SGD: Adam's division by √v turns rounding in near-zero gradients into whole steps.
        config = TrainingConfig(model="LeNet-5", optimizer="SGD", learning_rate=0.05, epochs=1, seed=0)

        def compute():
            result = train(config, data)
            return {name: tensor.float() for name, tensor in result.model.state_dict().items()}

        return compute

    return Item("Training epoch · LeNet-5 on the digits", "training", run, quick=True)


def landscape_item(points: int) -> Item:
    def run(device):
        from bench.landscape import subject

        chosen = subject()
        evaluation = chosen.evaluation(1000)
        data = EvaluationSet(evaluation.images.to(device), evaluation.labels.to(device))
        origin = {k: v.to(device) for k, v in chosen.final.items()}
        # The directions are drawn on the CPU, so both devices move along the same ones.
        drawn = (filter_normalized_direction(chosen.final, seed) for seed in (0, 1))
        directions = tuple({k: v.to(device) for k, v in direction.items()} for direction in drawn)
        network, axis = chosen.network().to(device), np.linspace(-1, 1, points)

        def compute():
            surface = evaluate_grid(network, origin, directions, data, axis, axis)
            return {"loss": torch.from_numpy(surface.loss)}

        return compute

    return Item(f"Landscape grid · LeNet-5 {points}×{points}", "landscape", run, quick=True)


def segmentation_items() -> list[Item]:
    def unet(device):
        from app.segmentation.shipped import shipped_unet

        model = shipped_unet("unet")[0].to(device)
        grey = torch.from_numpy(skimage.data.astronaut()).float().mean(dim=-1) / 255
        batch = torch.nn.functional.interpolate(grey[None, None], size=(64, 64), mode="area").to(device)
        return lambda: {"scores": model(batch)}

    def voc(device):
        spec, model = registry_model("lraspp_mobilenet_v3_large", False, device)
        batch = astronaut_batch(spec, device)
        return lambda: {"out": model(batch)["out"]}

    return [Item("U-Net · shipped, skip connections", "forward", unet),
            Item("VOC scores · lraspp_mobilenet_v3_large", "forward", voc)]


def video_items() -> list[Item]:
    def kinetics(device):
        spec, model = registry_model("r3d_18", False, device)
        batch = clip_batch(clip_view(sample_clip("pan_zoom").frames, spec.preprocessing, 16), spec.preprocessing)
        extractor = SpaceTimeExtractor(model, spec.architecture, spec.layers, 16, spec.preprocessing.input_size)
        return extractor, batch.to(device)

    def capture(device):
        extractor, batch = kinetics(device)

        def compute():
            captured = extractor.capture(batch)
            return {**captured.maps, "logits": captured.logits}

        return compute

    def cam(device):
        extractor, batch = kinetics(device)
        # A fixed class (0), so that both devices explain the same one.
        return lambda: {"grad_cam": space_time_grad_cam(extractor, batch, "layer4", 0)}

    def motion(device):
        from app.video.shipped import shipped_motion_model
        from pretrained.motion_models import SHIPPED

        networks = {key: shipped_motion_model(key)[0].to(device) for key in SHIPPED}
        clips = moving_fashion.clip_input(moving_fashion.clip_view(sample_clip("pan_zoom").frames)[None]).to(device)

        def compute():
            with torch.inference_mode():
                return {key: network(clips) for key, network in networks.items()}

        return compute

    return [Item("Kinetics capture · r3d_18", "forward", capture),
            Item("Space-time Grad-CAM · r3d_18", "grad_cam", cam),
            Item("Motion networks · the five shipped", "forward", motion)]


def capture_item(name: str) -> Item:
    """Feature-map capture alone: MLP-Mixer's tokens and CvT's stages have no Grad-CAM page."""
    return dataclasses.replace(cnn_items(name, False)[0], name=f"Feature-map capture · {name}")


def walkthrough_item() -> Item:
    """The self-attention walk-through of an untrained ViT-B/16 to its last block, head 0."""
    def run(device):
        spec, model = registry_model("vit_b16", False, device)
        batch = astronaut_batch(spec, device)

        def compute():
            walk = walk_through(model, batch, 12, 0)
            return {"attention": walk.steps.attention, "output": walk.steps.output, "input": walk.block_input}

        return compute

    return Item("Self-attention walk-through · vit_b16", "attention", run)


def detection_items() -> list[Item]:
    def tiny(device):
        from app.detection.predict import scene_input
        from app.detection.shipped import shipped_tiny_detr

        model = shipped_tiny_detr().model.to(device)
        grey = skimage.transform.resize(skimage.color.rgb2gray(skimage.data.astronaut()), (64, 64))
        batch = scene_input((grey * 255).astype(np.uint8)[None]).to(device)
        return lambda: _detr_outputs(capture_tiny_detr(model, batch))

    def resnet(device):
        spec, model = registry_model("detr_resnet50", False, device)
        batch = preprocess(skimage.data.astronaut(), spec.preprocessing).to(device)
        return lambda: _detr_outputs(capture_detr(model, batch))

    return [Item("DETR capture · the shipped small DETR", "attention", tiny, quick=True),
            Item("DETR capture · detr_resnet50", "attention", resnet)]


def _detr_outputs(capture) -> Outputs:
    return {"probabilities": capture.probabilities, "boxes": capture.boxes,
            "encoder attention": capture.encoder_attention, "cross attention": capture.cross_attention}


def items(quick: bool) -> list[Item]:
    every = [*cnn_items("efficientnet_lite0", True), *cnn_items("resnet50", False),
             capture_item("mixer_b16"), capture_item("cvt_13"), walkthrough_item(), *detection_items(),
             vit_item("tiny_vit_fmnist", True), vit_item("vit_b16", False),
             swin_item("tiny_swin_fmnist", True), swin_item("swin_t", False),
             training_item(), landscape_item(3 if quick else 5), *segmentation_items(), *video_items()]
    return [item for item in every if item.quick or not quick]


def relative_error(reference: Outputs, other: Outputs) -> float:
    """The largest difference over the largest magnitude of the reference, over all outputs."""
    worst = 0.0
    for name, expected in reference.items():
        expected, got = torch.as_tensor(expected).double().cpu(), torch.as_tensor(other[name]).double().cpu()
        if expected.shape != got.shape:
            return float("inf")
        scale = float(expected.abs().max()) or 1.0
        worst = max(worst, float((expected - got).abs().max()) / scale)
    return worst


def timed(compute: Callable[[], Outputs], device: torch.device) -> tuple[Outputs, float]:
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    synchronize()
    start = time.perf_counter()
    outputs = compute()
    synchronize()
    return outputs, time.perf_counter() - start


def deterministic() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    # Warn only: a few CUDA backward kernels (adaptive pooling) have no deterministic version.
    torch.use_deterministic_algorithms(True, warn_only=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-only", action="store_true", help="compare the CPU with itself")
    parser.add_argument("--quick", action="store_true", help="only the tiny models, a 3×3 grid")
    arguments = parser.parse_args()
    deterministic()
    cpu = torch.device("cpu")
    on_cuda = torch.cuda.is_available() and not arguments.cpu_only
    other = torch.device("cuda") if on_cuda else cpu
    if on_cuda:
        print(f"CUDA: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; TF32 off, deterministic")
    else:
        print("CUDA is not available" + (" (--cpu-only)" if arguments.cpu_only else "")
              + ": each item runs twice on the CPU and the runs are compared (a determinism check); "
              "no GPU figures.")
    passed, errors, speedups = 0, [], []
    chosen = items(arguments.quick)
    second = "cuda_s" if on_cuda else "again_s"
    print(f"{'item':48s} {'cpu_s':>8s} {second:>8s} {'speedup':>8s} {'rel_err':>9s} {'tol':>7s}")
    for item in chosen:
        reference, cpu_s = timed(item.run(cpu), cpu)
        compute = item.run(other)
        if on_cuda:
            timed(compute, other)  # CUDA's first call pays for kernel selection and loading
        result, other_s = timed(compute, other)
        error, tolerance = relative_error(reference, result), TOLERANCE[item.kind]
        passed += error <= tolerance
        errors.append(error)
        speedups.append(cpu_s / other_s)
        verdict = "" if error <= tolerance else "  FAILED"
        print(f"{item.name:48s} {cpu_s:8.3f} {other_s:8.3f} {cpu_s / other_s:8.1f} {error:9.2e} "
              f"{tolerance:7.0e}{verdict}", flush=True)
    print(f"gpu_check: items={len(chosen)} passed={passed} max_rel_err={max(errors):.2e} "
          f"speedup_median={statistics.median(speedups):.2f}")


if __name__ == "__main__":
    main()
