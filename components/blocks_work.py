"""The efficient-convolutions page's models and measurements: one untrained RepVGG-A2 and one
RepLKNet large-kernel pair per server, each with settled batch-norm statistics (never changed
once built), their fused forms checked on the session's image, and both forms timed on this
server as shared background jobs."""

from __future__ import annotations

import streamlit as st
import torch

import pretrained
from app.atlas import inverted_residual, reparam
from app.preprocess import preprocess
from app.serving.background_jobs import JobSnapshot
from components.deferred_work import deferred
from components.server_state import EFFICIENT_BLOCKS

REPVGG_BLOCKS = ("stem", "stages.0.0", "stages.0.1", "stages.1.1", "stages.2.1", "stages.3.0")
PREPROCESSING = "resnet50"  # RepVGG's ImageNet transform is the same 224² centre crop


def repvgg() -> torch.nn.Module:
    return EFFICIENT_BLOCKS.get("repvgg_a2", reparam.settled_repvgg)


def large_kernel_pair() -> reparam.LargeKernelReparam:
    """RepLKNet's 31×31 + 5×5 depthwise pair on the three colour channels, seeded."""
    def build() -> reparam.LargeKernelReparam:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            pair = reparam.LargeKernelReparam(3, 31, 5)
        return reparam.settled_batch_norm(pair, torch.Generator().manual_seed(0)).eval().requires_grad_(False)

    return EFFICIENT_BLOCKS.get("large kernel pair", build)


def image_batch(rgb) -> torch.Tensor:
    return preprocess(rgb, pretrained.get_spec(PREPROCESSING).preprocessing)


@st.cache_data(max_entries=64, show_spinner=False)
def repvgg_check(image_sha: str, block_name: str, _rgb) -> tuple[tuple[int, ...], float, float]:
    """(the block's input shape, the largest difference of its two forms, the largest output) on
    the session's image; the outputs themselves are not kept."""
    model = repvgg()
    block = model.get_submodule(block_name)
    fed = reparam.input_of(model, block, image_batch(_rgb))
    compared = reparam.branch_and_fused_outputs(block, fed)
    return tuple(fed.shape), compared.max_abs_difference, compared.max_abs_output


@st.cache_data(max_entries=64, show_spinner=False)
def large_kernel_check(image_sha: str, _rgb) -> tuple[float, float]:
    compared = reparam.branch_and_fused_outputs(large_kernel_pair(), image_batch(_rgb))
    return compared.max_abs_difference, compared.max_abs_output


LARGE_KERNEL_STAGE = (128, 56)  # channels and map side of RepLKNet-31B's first stage, where it is timed


def _large_kernel_at_stage() -> tuple[torch.nn.Module, torch.Tensor]:
    channels, side = LARGE_KERNEL_STAGE
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        pair = reparam.LargeKernelReparam(channels, 31, 5)
    return reparam.settled_batch_norm(pair, generator).eval(), torch.randn(1, channels, side, side, generator=generator)


def form_timing(subject: str, device: torch.device) -> JobSnapshot:
    """Both forms of a RepVGG block (by name), fed what a 224² image gives it, or of the
    large-kernel pair ("large kernel") at RepLKNet's first stage."""
    def work(report, should_stop) -> reparam.FormTimes:
        if subject == "large kernel":
            block, fed = _large_kernel_at_stage()
            return reparam.time_forms(block, reparam.inference_form(block), fed, device, repeats=7)
        block = repvgg().get_submodule(subject)
        fed = reparam.input_of(repvgg(), block, torch.randn(1, 3, 224, 224))
        return reparam.time_forms(block, reparam.inference_form(block), fed, device)

    return deferred(("reparam timing", subject, str(device)), work, f"Timing both forms of {subject}", shared=True,
                    wait_s=0.5)


def memory_comparison() -> JobSnapshot:
    """MobileNet v1's and v2's peak activation memory, measured once per server in a fresh
    interpreter (seconds)."""
    def work(report, should_stop) -> inverted_residual.MemoryComparison:
        return inverted_residual.compared_in_child()

    return deferred(("mobilenet memory",), work, "Measuring MobileNet v1's and v2's memory", shared=True, wait_s=0.3)


def mobilenet_v2_blocks() -> tuple[torch.nn.Module, dict[int, tuple[int, int]]]:
    """torchvision's MobileNet v2 on the meta device (shapes only) and what each block is fed at 224²."""
    def build():
        from torchvision.models import mobilenet_v2

        with torch.device("meta"):
            model = mobilenet_v2(weights=None)
        return model, inverted_residual.block_inputs(model, 224)

    return EFFICIENT_BLOCKS.get("mobilenet_v2 meta", build)
