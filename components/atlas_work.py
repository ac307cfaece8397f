"""The atlas's numbers, computed once per server: the counts (a few seconds for all the
architectures, on the meta device) and, when asked, the latencies on this server's device
(minutes at batch 32 on a CPU), each as a shared background job with progress."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

import pretrained
from app.atlas import separable
from app.atlas.catalog import ARCHITECTURES, BY_KEY, Architecture, imagenet_top1
from app.atlas.cost import Cost, count_cost
from app.atlas.latency import Latency, built_for_timing, measure_latency
from app.atlas.receptive import traced_in_child
from app.serving.background_jobs import JobSnapshot
from components.deferred_work import deferred

LARGE_BATCH = 32
REPEATS = {1: 5, LARGE_BATCH: 1}  # timed passes after the warm-up: batch 32 of VGG-19 takes seconds


@dataclass(frozen=True)
class Counted:
    costs: dict[str, Cost]
    fields: dict[str, int | None]  # receptive field in pixels, None: the whole image


def counted() -> JobSnapshot:
    """Every architecture's Cost, then its receptive field (partial: those so far). The fields
    are traced in a child process: torch.fx patches torch.nn.Module.__call__ for the whole
    process while it traces, so a trace here would break the forward passes of every other
    session's thread (a training run, a capture) running meanwhile."""
    def work(report, should_stop) -> Counted:
        costs: dict[str, Cost] = {}
        fields: dict[str, int | None] = {}
        total = 2 * len(ARCHITECTURES)
        for arch in ARCHITECTURES:
            if should_stop():
                return Counted(costs, fields)
            costs[arch.key] = count_cost(arch)
            report(len(costs) / total, Counted(dict(costs), {}))
        for key, pixels in traced_in_child(list(BY_KEY)):
            fields[key] = pixels
            report((len(costs) + len(fields)) / total, Counted(dict(costs), dict(fields)))
            if should_stop():
                break
        return Counted(costs, fields)

    return deferred(("atlas counts",), work, "Counting the atlas's parameters, multiply-adds and receptive fields",
                    shared=True, wait_s=0.3)


def latencies(device: torch.device) -> JobSnapshot:
    """{(key, batch): Latency} on `device`: batch 1 for every architecture first, then batch 32."""
    def work(report, should_stop) -> dict[tuple[str, int], Latency]:
        measured: dict[tuple[str, int], Latency] = {}
        plan = [(arch, batch) for batch in (1, LARGE_BATCH) for arch in ARCHITECTURES]
        for index, (arch, batch) in enumerate(plan):
            if should_stop():
                break
            model = built_for_timing(arch, device)
            measured[(arch.key, batch)] = measure_latency(model, arch, batch, device, REPEATS[batch])
            del model
            report((index + 1) / len(plan), dict(measured))
        return measured

    return deferred(("atlas latencies", str(device)), work, f"Timing the atlas's networks on {device}", shared=True)


@st.cache_data(show_spinner=False)
def top1() -> dict[str, float | None]:
    return {arch.key: imagenet_top1(arch) for arch in ARCHITECTURES}


def weight_status(arch: Architecture) -> str:
    """The registry's words for its weights, for the architectures the feature-map page has."""
    if arch.registry is None:
        return "architecture only"
    return pretrained.weights_status(pretrained.get_spec(arch.registry)).value


def layer_timing(m: int, n: int, size: int, device: torch.device) -> JobSnapshot:
    """A standard 3×3 layer against a depthwise separable pair, timed on this server: quick
    sizes answer in the script run, large ones (56² and 512 channels: a second) show progress."""
    def work(report, should_stop) -> separable.LayerTiming:
        return separable.time_layers(m, n, size, device)

    return deferred(("layer timing", m, n, size, str(device)), work, f"Timing a {m}→{n} layer on {size}²",
                    shared=True, wait_s=0.4)


@st.cache_data(max_entries=16, show_spinner=False)
def mobilenet_v1_table(width: float, size: int) -> tuple[list[separable.LayerRow], int]:
    """(MobileNet v1's layer rows, its parameters) for α and the input size: built once per pair,
    not on every rerun of the page (a meta build and a pass, a third of a second)."""
    with torch.device("meta"):
        model = separable.mobilenet_v1(width)
    return separable.layer_table(model, size), sum(p.numel() for p in model.parameters())
