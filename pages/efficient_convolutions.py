"""Efficient convolutions: the arithmetic of the steps from ResNet to MobileNet and RepVGG, from real modules."""

import streamlit as st
import torch

from app.atlas import inverted_residual, reparam, resnext
from components.atlas_work import layer_timing, mobilenet_v1_table
from components.blocks_work import (
    LARGE_KERNEL_STAGE,
    REPVGG_BLOCKS,
    form_timing,
    large_kernel_check,
    large_kernel_pair,
    memory_comparison,
    mobilenet_v2_blocks,
    repvgg,
    repvgg_check,
)
from components.deferred_work import live_section, result_or_progress
from components.device_picker import current_device
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.lazy_tabs import lazy_tabs

st.title("Efficient convolutions")
st.caption("What each step after ResNet changed in a block, and what it costs: counted from the modules that "
           "torchvision and timm build, and timed on this server.")

tabs = lazy_tabs(["ResNeXt's paths", "Depthwise separable", "Inverted residual", "Re-parameterisation"], "blocks_tab",
                 {"ResNeXt's paths": ("resnext_",), "Depthwise separable": ("separable_",),
                  "Inverted residual": ("inverted_",), "Re-parameterisation": ("reparam_",)})


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


def inverted_view():
    st.markdown("MobileNet v2's block (Sandler et al. 2018) turns the residual block inside out: a 1×1 convolution "
                "**expands** a thin tensor t times, a 3×3 **depthwise** convolution filters it, and a 1×1 "
                "**linear** projection (no ReLU6) brings it back to a thin bottleneck; the shortcut joins the "
                "bottlenecks, not the wide tensors.")
    model, fed = mobilenet_v2_blocks()
    index = st.select_slider("Block of torchvision's MobileNet v2 (index in features)", list(fed), 3,
                             key="inverted_block")
    channels, side = fed[index]
    tensors = inverted_residual.block_tensors(model.features[index], channels, side)
    st.plotly_chart(inverted_residual.inverted_residual_figure(tensors), width="stretch", key="inverted_figure",
                    config=chart_config())
    widest = max(tensors, key=lambda t: t.elements)
    st.caption(f"For a 224² image, block {index} takes {tensors[0].label} and gives {tensors[-1].label}; its widest "
               f"tensor is {widest.label}, {widest.elements / tensors[0].elements:.0f}× its input.")
    st.subheader("“Considerably more memory efficient” — why?")
    live_section("inverted_memory", memory_words)


def memory_words():
    compared = result_or_progress(memory_comparison(), "Measuring the peak memory of both networks")
    if compared is None:
        return
    mb = 1e6
    st.dataframe([
        {"What runs": f"v1 block at {compared.block_side}²: 3×3 depthwise 128, 1×1 128 → 128",
         "Peak memory (MB)": compared.v1_block / mb},
        {"What runs": f"v2 block at {compared.block_side}²: 24 → 144 → 24, computed whole",
         "Peak memory (MB)": compared.v2_block / mb},
        {"What runs": "the same v2 block, its 144 channels in 6 slices of 24", "Peak memory (MB)":
            compared.v2_block_streamed / mb},
        {"What runs": f"MobileNet v1, {compared.image_side}² image", "Peak memory (MB)": compared.v1_network / mb},
        {"What runs": "MobileNet v2, blocks computed whole", "Peak memory (MB)": compared.v2_network / mb},
        {"What runs": "MobileNet v2, every block in slices", "Peak memory (MB)": compared.v2_network_streamed / mb},
    ], hide_index=True, width="stretch", key="inverted_memory_table",
        column_config={"Peak memory (MB)": st.column_config.NumberColumn(format="%.2f")})
    whole, sliced, v1 = compared.v2_block, compared.v2_block_streamed, compared.v1_block
    st.markdown(
        f"Measured on this server (float32, batch 1, the input counted, one thread in a separate process): "
        f"computed whole, as PyTorch runs it, the v2 block peaks at **{whole / mb:.2f} MB**, "
        f"{'more' if whole > v1 else 'less'} than the v1 block's {v1 / mb:.2f} MB. In slices it needs "
        f"**{sliced / mb:.2f} MB**, {whole / sliced:.1f}× less, and the whole network "
        f"{compared.v2_network / compared.v2_network_streamed:.1f}× less ({compared.v2_network_streamed / mb:.2f} MB "
        f"against v1's {compared.v1_network / mb:.2f} MB). That is the paper's answer (Section 5.1): "
        "the expanded tensor exists only inside a block, and because expansion, depthwise filtering and projection "
        "all work channel by channel in it, it can be computed a slice at a time; only the thin bottlenecks "
        "between blocks must be kept whole.")
    v1_count, v2_count = compared.v1_materialised, compared.v2_materialised
    paper = dict(compared.paper_table3_kb)
    st.markdown(
        f"Sandler et al.'s Table 3 counts the largest tensor that must be kept whole, in 16-bit floats: "
        f"{paper['MobileNet v1']}K for v1, {paper['MobileNet v2']}K for v2. Counted from the real networks: v1's "
        f"{v1_count.largest} is **{v1_count.table3_kb:,.0f} kB**; v2's {v2_count.largest} is "
        f"**{v2_count.table3_kb:,.0f} kB** once the first convolution streams into the first block, as the "
        f"table's caption allows ({compared.v2_materialised_unmerged.table3_kb:,.0f} kB without that).")


def reparam_view():
    st.markdown("A convolution and a batch norm in eval mode are both linear, so parallel branches trained side by "
                "side can be **summed into one convolution** for inference: RepVGG (Ding et al. 2021) trains a "
                "3×3, a 1×1 and an identity branch and runs one 3×3; RepLKNet (Ding et al. 2022) trains a 5×5 "
                "beside its 31×31 depthwise kernel and runs one 31×31.")
    st.error("**UNTRAINED WEIGHTS — RepVGG-A2 and the 31×31 pair have random weights** (no published weights are "
             "in the registry). Their batch norms' statistics are drawn like those training leaves, made up, so "
             "that folding them shows; the fusion is exact for any weights.", icon=":material/warning:")
    image = current_image()
    left, right = st.columns(2)
    name = left.selectbox("RepVGG-A2 block", REPVGG_BLOCKS, index=2, key="reparam_block")
    block = repvgg().get_submodule(name)
    fusion = reparam.fuse_repvgg(block)
    channel = right.slider("Output channel", 0, fusion.kernel.shape[0] - 1, 0, key="reparam_channel")
    branches, fused = reparam.kernel_views(fusion, channel)
    in_channel = channel % fusion.kernel.shape[1]
    st.plotly_chart(reparam.kernels_figure(branches, fused, title=f"{name}: output channel {channel}, input "
                                                                  f"channel {in_channel}"),
                    width="stretch", key="reparam_kernels", config=chart_config(PICTURE_TOOLBAR))
    shape, difference, largest = repvgg_check(image.sha256, name, image.rgb)
    st.markdown(f"On your image, fed to {name} as {' × '.join(map(str, shape[1:]))}: the branches' sum and the "
                f"fused convolution differ by at most **{difference:.1e}** where the outputs reach {largest:.1f}, "
                "float rounding." + ("" if "identity BN" in branches else " This block changes the map's size or "
                                     "width, so it has no identity branch.") + " RepVGG's argument for the fused "
                "form: one convolution reads its input once and keeps no branch outputs to add.")
    live_section("reparam_timing", lambda: timing_of(name))
    st.subheader("RepLKNet: 5×5 into 31×31")
    pair = large_kernel_pair()
    colour = st.radio("Colour channel", ["red", "green", "blue"], horizontal=True, key="reparam_colour")
    merged = reparam.merge_large_kernel(pair)
    branches, fused = reparam.kernel_views(merged, ["red", "green", "blue"].index(colour), 0)
    st.plotly_chart(reparam.kernels_figure(branches, fused, fused_label="merged"), width="stretch",
                    key="reparam_large", config=chart_config(PICTURE_TOOLBAR))
    difference, largest = large_kernel_check(image.sha256, image.rgb)
    st.markdown(f"Applied to your image's three colour channels: the two branches and the merged 31×31 kernel "
                f"differ by at most **{difference:.1e}** where the outputs reach {largest:.1f}.")
    live_section("reparam_large_timing", lambda: timing_of("large kernel"))


def timing_of(subject: str):
    device = current_device()
    times = result_or_progress(form_timing(subject, device), "Timing both forms")
    if times is None:
        return
    where = (f"at RepLKNet's first stage ({LARGE_KERNEL_STAGE[0]} channels on {LARGE_KERNEL_STAGE[1]}×"
             f"{LARGE_KERNEL_STAGE[1]})" if subject == "large kernel" else f"fed what a 224² image gives {subject}")
    ratio = times.speedup
    st.markdown(f"Timed on this server ({device}), {where}: the training-time form takes "
                f"**{times.branches_s * 1e3:.2f} ms**, the fused one **{times.fused_s * 1e3:.2f} ms**, "
                + (f"{ratio:.2f}× faster." if ratio >= 1 else f"{1 / ratio:.2f}× slower: fewer kernels are not "
                   "always less time on this device."))


with tabs[0]:
    if tabs[0].open:
        resnext_view()
with tabs[1]:
    if tabs[1].open:
        separable_view()
with tabs[2]:
    if tabs[2].open:
        inverted_view()
with tabs[3]:
    if tabs[3].open:
        reparam_view()
