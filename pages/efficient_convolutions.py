"""Efficient convolutions: the arithmetic of the steps from ResNet to MobileNet and RepVGG, from real modules."""

import streamlit as st
import torch

from app.atlas import resnext
from components.atlas_work import layer_timing, mobilenet_v1_table
from components.deferred_work import live_section, result_or_progress
from components.device_picker import current_device
from components.lazy_tabs import lazy_tabs

st.title("Efficient convolutions")
st.caption("What each step after ResNet changed in a block, and what it costs: counted from the modules that "
           "torchvision and timm build, and timed on this server.")

tabs = lazy_tabs(["ResNeXt's paths", "Depthwise separable"], "blocks_tab",
                 {"ResNeXt's paths": ("resnext_",), "Depthwise separable": ("separable_",)})


def resnext_view():
    channels = resnext.BLOCK_CHANNELS
    left, right = st.columns(2)
    with left:
        st.markdown(f"**ResNet's bottleneck** {channels} → w → w → {channels}")
        width = st.slider("Bottleneck width w", 4, 256, 64, 4, key="resnext_bottleneck")
        with torch.device("meta"):
            baseline = resnext.weights(resnext.bottleneck(channels, width))
        st.metric("Weights", f"{baseline:,}")
        st.code(resnext.bottleneck_formula(channels, width), language=None, wrap_lines=True)
    with right:
        st.markdown(f"**ResNeXt's block**: C paths {channels} → d → d → {channels}, summed")
        cardinality = st.select_slider("Cardinality C", [1, 2, 4, 8, 16, 32, 64], 32, key="resnext_cardinality")
        path_width = st.slider("Path width d", 1, 64, 4, key="resnext_width")
        with torch.device("meta"):
            paths = resnext.weights(resnext.Paths(channels, cardinality, path_width))
        st.metric("Weights", f"{paths:,}", delta=f"{paths - baseline:+,} against the bottleneck", delta_color="off")
        st.code(resnext.paths_formula(channels, cardinality, path_width), language=None, wrap_lines=True)
    pairs = {c: resnext.matching_width(c, baseline) for c in (1, 2, 4, 8, 32)}
    st.markdown("Path widths that cost about what this bottleneck costs: "
                + ", ".join(f"C = {c} → d = {d}" for c, d in pairs.items())
                + ". Xie et al.'s Table 2 lists these pairs for w = 64: (1, 64), (2, 40), (4, 24), (8, 14), (32, 4).")
    difference = resnext.grouped_equals_paths(channels, min(cardinality, 8), min(path_width, 16))
    st.caption(f"As implemented, the paths are one grouped 3×3 convolution between two 1×1 ones, with the same "
               f"weights and the same output: on a random {channels}×14×14 input (C = {min(cardinality, 8)}, "
               f"d = {min(path_width, 16)}), the two differ by at most {difference:.1e}, float rounding.")


def separable_view():
    st.markdown("A standard k×k convolution from M to N channels on a D_F × D_F map costs "
                "**D_K²·M·N·D_F²** multiply-adds; a depthwise k×k (one filter per channel) then a pointwise 1×1 "
                "costs **D_K²·M·D_F² + M·N·D_F²**, a fraction 1/N + 1/D_K² of it (Howard et al. 2017).")
    left, right = st.columns(2)
    alpha = left.select_slider("Width multiplier α", [0.25, 0.5, 0.75, 1.0], 1.0, key="separable_alpha")
    size = right.select_slider("Resolution (ρ·224)", [128, 160, 192, 224], 224, key="separable_size")
    rows, total_params = mobilenet_v1_table(alpha, size)
    total_macs = sum(r.macs for r in rows)
    st.markdown(f"**MobileNet v1, α = {alpha}, {size}²**, read from timm's network: {len(rows)} layers, "
                f"**{total_macs / 1e6:,.0f} M multiply-adds**, **{total_params / 1e6:.2f} M parameters**. The "
                "paper's Tables 6 and 7 give 569 M and 4.2 M for α = 1 at 224², 41 M and 0.5 M for α = 0.25.")
    shares = {kind: sum(r.macs for r in rows if r.kind.startswith(kind)) / total_macs
              for kind in ("Conv dw", "Conv /", "FC")}
    st.dataframe([{"Layer": r.name, "Type / stride": r.kind, "Filter shape": r.filter_shape,
                   "Input size": r.input_shape, "Multiply-adds (M)": r.macs / 1e6, "Parameters": r.parameters}
                  for r in rows], hide_index=True, width="stretch", height=320, key="separable_table",
                 column_config={"Multiply-adds (M)": st.column_config.NumberColumn(format="%.2f")})
    st.caption(f"Depthwise layers: {shares['Conv dw']:.1%} of the multiply-adds; pointwise and the first "
               f"convolution: {shares['Conv /']:.1%}; the classifier: {shares['FC']:.1%}.")
    st.subheader("FLOPs are not time")
    one, two, three = st.columns(3)
    m = one.select_slider("M (in)", [32, 64, 128, 256, 512], 256, key="separable_m")
    n = two.select_slider("N (out)", [32, 64, 128, 256, 512], 256, key="separable_n")
    fmap = three.select_slider("D_F", [7, 14, 28, 56], 28, key="separable_df")
    live_section("separable_timing", lambda: timing_words(m, n, fmap))


def timing_words(m: int, n: int, fmap: int):
    device = current_device()
    timing = result_or_progress(layer_timing(m, n, fmap, device), "Timing both layers")
    if timing is None:
        return
    flops_ratio = timing.standard_macs / timing.separable_macs
    time_ratio = timing.standard_s / timing.separable_s
    st.markdown(f"On this server ({device}), a 3×3 convolution {m} → {n} on {fmap}×{fmap}: "
                f"**{timing.standard_s * 1e3:.2f} ms** for {timing.standard_macs / 1e6:,.1f} M multiply-adds; "
                f"depthwise + pointwise: **{timing.separable_s * 1e3:.2f} ms** for "
                f"{timing.separable_macs / 1e6:,.1f} M: {flops_ratio:.1f}× fewer multiply-adds, "
                f"{time_ratio:.1f}× {'less' if time_ratio >= 1 else 'more'} time.")
    macs_share = timing.depthwise_macs / timing.separable_macs
    time_share = timing.depthwise_s / timing.separable_s
    st.markdown(f"Within the pair, the depthwise convolution does **{macs_share:.0%}** of the multiply-adds and "
                f"takes **{time_share:.0%}** of the time"
                + (": it does little arithmetic for each number it reads, so it runs further below the machine's "
                   "peak than the pointwise one." if time_share > macs_share else "."))


with tabs[0]:
    if tabs[0].open:
        resnext_view()
with tabs[1]:
    if tabs[1].open:
        separable_view()
