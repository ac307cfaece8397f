"""Architecture atlas: what each network of the course costs, and the arithmetic of the steps."""

import streamlit as st

import pretrained
from app.atlas.catalog import ARCHITECTURES, BY_KEY
from app.atlas.figures import atlas_rows, cost_figure
from app.atlas.words import cheaper_and_better
from components.atlas_work import (
    Counted,
    counted,
    latencies,
    top1,
    weight_status,
)
from components.deferred_work import live_section, result_or_progress
from components.device_picker import current_device
from components.figure_export import chart_config
from components.notebook_code import atlas_code

st.title("Architecture atlas")
st.caption("From LeNet-5 to ConvNeXt and the transformers. Parameters and multiply-adds are counted from each "
           "network as torchvision, timm or this project builds it, without running it; latency is measured on "
           "this server; accuracy is what the weights' metadata records.")

TIMING = "atlas_timing_asked"


def atlas_view():
    snapshot = counted()
    numbers = snapshot.result if snapshot.status == "finished" else snapshot.partial or Counted({}, {})
    if snapshot.status != "finished":
        result_or_progress(snapshot, "Counting parameters and multiply-adds, then tracing receptive fields")
    device = current_device()
    timed = {}
    if st.session_state.get(TIMING):
        timing = latencies(device)
        timed = timing.result if timing.status == "finished" else timing.partial or {}
        if timing.active:
            bar, cancel = st.columns([5, 1], vertical_alignment="center")
            with bar:
                result_or_progress(timing, f"Timing every network on {device} (batch 1, then 32)")
            if cancel.button("Cancel", key="atlas_time_cancel"):
                st.session_state[TIMING] = False  # no longer shown: the section stops the job
                st.rerun()
        elif timing.status == "failed":
            result_or_progress(timing, "Timing the networks")
    elif st.button(f"Time every network on this server ({device}: batch 1, then 32)", key="atlas_time"):
        st.session_state[TIMING] = True
        st.rerun()
    accuracy = top1()
    views = ["multiply-adds", "latency on this server"]
    view = st.radio("Accuracy against", views, horizontal=True, key="atlas_view",
                    disabled=not any(batch == 1 for _, batch in timed))
    by_latency = view == views[1] and any(batch == 1 for _, batch in timed)
    if numbers.costs:
        st.plotly_chart(cost_figure(list(ARCHITECTURES), numbers.costs, accuracy, timed if by_latency else None),
                        width="stretch", key="atlas_chart", on_select="rerun", selection_mode="points",
                        config=chart_config())
        open_clicked()
        if not by_latency and len(numbers.costs) == len(ARCHITECTURES):
            with st.expander("This picture in a notebook (Python)", icon=":material/code:"):
                st.code(atlas_code(), language="python", wrap_lines=True)
        st.caption("Bubble area: parameters. Click a CNN to look inside it on the feature-map page. "
                   + cheaper_and_better(list(ARCHITECTURES), numbers.costs, accuracy)
                   + " Canziani et al. (2016) drew this picture first and found accuracy and inference time in a "
                     "hyperbolic relationship: a little more accuracy costs a lot more computation.")
        missing = [a.title for a in ARCHITECTURES if accuracy.get(a.key) is None]
        st.caption(f"Not in the picture (their weights' metadata records no ImageNet accuracy): {', '.join(missing)}.")
    rows = atlas_rows(list(ARCHITECTURES), numbers.costs, accuracy, timed,
                      {a.key: weight_status(a) for a in ARCHITECTURES}, numbers.fields)
    number = st.column_config.NumberColumn
    st.dataframe(rows, hide_index=True, width="stretch", key="atlas_table", column_config={
        "Parameters (M)": number(format="%.3g"), "GMACs": number(format="%.3g"),
        "ImageNet top-1 (%)": number(format="%.1f"), "Latency, batch 1 (ms)": number(format="%.1f"),
        "Images/s, batch 32": number(format="%.1f")})
    st.caption("Depth (paper): the weight layers the name counts. Weight layers: every convolution and fully "
               "connected layer in the module, projection shortcuts and auxiliary classifiers included. LeNet-5 is "
               "counted at its own 28×28 grey input; latency is timed on random weights (speed does not depend "
               "on their values). Receptive field: the input pixels on a side that one unit of the last feature "
               "map can see, by the arithmetic of kernels and strides along the widest path (a squeeze-and-"
               "excitation gate's global average is not counted); a transformer or MLP-Mixer mixes all tokens.")


def open_clicked():
    """A click on a bubble opens that network on the feature-map page (the CNNs it has)."""
    points = st.session_state.get("atlas_chart", {}).get("selection", {}).get("points", [])
    if not points:
        return
    arch = BY_KEY[points[0]["customdata"][0]]
    if arch.registry is None:
        shown = len(pretrained.list_specs("cnn"))
        st.info(f"{arch.title} is not on the feature-map page: it shows the registry's {shown} CNNs, MLP-Mixer "
                "and CvT.")
        return
    st.session_state["chosen_cnn"] = arch.registry
    st.switch_page("pages/feature_maps.py")


live_section("atlas", atlas_view)
