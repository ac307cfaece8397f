"""Feature maps: what each layer of a CNN sees in the current image."""

import streamlit as st

from app.cnn.capture import first_conv_filters
from app.cnn.figures import (
    depth_figure,
    filters_figure,
    histogram_figure,
    mosaic_figure,
    vector_figure,
)
from app.cnn.layer_stats import channel_order, layer_stats, strongest_unit
from app.cnn.words import mixer_reading, stages_reading
from app.figures.colormaps import COLORMAPS
from app.figures.mosaic import channel_mosaic
from app.figures.overlays import map_overlay_figure
from app.figures.prediction_chart import top_k_bar_chart
from components.cnn_capture import inspect_image
from components.figure_export import chart_config
from components.image_picker import current_image
from components.layer_picker import layer_picker
from components.lazy_tabs import lazy_tabs
from components.model_picker import model_picker
from components.models import top_predictions
from components.notebook_code import channel_mosaic_code

st.title("Feature maps")
st.caption("One forward pass captures every listed layer; every control below only redraws.")

image = current_image()
# MLP-Mixer and CvT are here for their maps; the choice is Attributions' too, where they are not listed.
loaded = model_picker(("cnn", "mlp", "hybrid"), default="efficientnet_lite0", value_key="chosen_cnn")
inspection = inspect_image(loaded, image)
if loaded.spec.family == "mlp":
    st.info(mixer_reading(inspection.layers))
elif loaded.spec.family == "hybrid":
    st.info(stages_reading(inspection.layers))
info = layer_picker(inspection.layers, loaded.spec.name)
activation = inspection.capture.activations[info.name]
stats = layer_stats(activation)

depth_col, facts_col = st.columns([3, 1])
depth_col.plotly_chart(depth_figure(inspection.layers, info.name), width="stretch", key="depth", config=chart_config())
with facts_col:
    st.metric("Output", " × ".join(str(n) for n in info.shape))
    rf = info.receptive_field
    st.metric("Receptive field", "whole image" if rf.is_global else f"{rf.size} px",
              help="Input pixels one unit can see (theoretical), and the stride between units.")
    if not rf.is_global:
        st.caption(f"stride between units: {rf.jump} px of the {inspection.view.shape[0]} px input")
    st.metric("Exactly zero", f"{stats.zero_fraction:.0%}", help="Units a ReLU switched off for this image.")

colormap_col, scale_col, order_col = st.columns(3)
colormap = colormap_col.selectbox("Colormap", COLORMAPS, key="fm_colormap")
shared = scale_col.radio("Colour scale", ["per map", "shared across the layer"], horizontal=True,
                         key="fm_scale") != "per map"
order_by = order_col.radio("Sort channels by", ["mean", "max", "index"], horizontal=True, key="fm_order")

# Only the open tab runs: hidden tabs' figures cost the server and every browser a redraw on
# each rerun (measured with twenty students, bench/load.py).
tabs = lazy_tabs(["All channels", "One channel", "Statistics", "First-layer filters", "Predictions"], "fm_tab",
                 {"All channels": ("fm_top_",), "One channel": ("fm_channel_", "fm_opacity", "fm_smooth")})
with tabs[0]:
    if tabs[0].open:
        if info.is_spatial:
            order = channel_order(activation, order_by)
            # Keyed by model and layer: two models' layers of one name can have other channel counts.
            top = st.slider("Show the first k channels", 1, info.channels, min(info.channels, 256),
                            key=f"fm_top_{loaded.spec.name}_{info.name}")
            mosaic = channel_mosaic(activation, order[:top], colormap, shared)
            st.plotly_chart(mosaic_figure(mosaic), width="stretch", key="mosaic", config=chart_config())
            st.caption(f"{top} of {info.channels} channels, sorted by {order_by}; hover a tile for its index.")
            with st.expander("This mosaic in a notebook (Python)", icon=":material/code:"):
                st.code(channel_mosaic_code(loaded, image, info.name, order_by, top, colormap, shared),
                        language="python", wrap_lines=True)
        else:
            st.info(f"{info.name} has no spatial extent: {info.channels} numbers, one per unit.")
            st.plotly_chart(vector_figure(activation), width="stretch", key="vector", config=chart_config())
with tabs[1]:
    if tabs[1].open:
        if info.is_spatial:
            left, right = st.columns([1, 3])
            strongest = int(channel_order(activation, "mean")[0])
            channel = left.number_input("Channel", 0, info.channels - 1, strongest,
                                        key=f"fm_channel_{loaded.spec.name}_{info.name}")
            opacity = left.slider("Opacity", 0.0, 1.0, 0.6, 0.05, key="fm_opacity")
            smooth = left.toggle("Smooth upsampling", key="fm_smooth")
            channel_map = activation[channel]
            row, col = strongest_unit(channel_map)
            value_range = (stats.minimum, stats.maximum) if shared else None
            right.plotly_chart(map_overlay_figure(
                inspection.view, channel_map, opacity, colormap, value_range, smooth,
                None if rf.is_global else rf.box(row, col), "receptive field of the strongest unit",
                title=f"{info.name}, channel {channel}", value_label="activation",
            ), width="stretch", key="overlay", config=chart_config())
            seen = ("Every unit of this map sees the whole image, so no square is drawn." if rf.is_global
                    else "The dashed square is what the strongest unit of this map can see.")
            left.caption(f"Channel {strongest} has the largest mean. {seen}")
        else:
            st.plotly_chart(vector_figure(activation), width="stretch", key="vector_one", config=chart_config())
with tabs[2]:
    if tabs[2].open:
        st.plotly_chart(histogram_figure(stats, title=f"Activations of {info.name}"), width="stretch", key="hist",
                        config=chart_config())
        st.caption(f"mean {stats.mean:.3g} · std {stats.std:.3g} · min {stats.minimum:.3g} · max {stats.maximum:.3g}"
                   f" · exactly zero {stats.zero_fraction:.1%} · negative {stats.negative_fraction:.1%}")
with tabs[3]:
    if tabs[3].open:
        filters = first_conv_filters(loaded.model)
        if filters is None:
            st.info("This model has no convolution on the RGB input.")
        else:
            st.plotly_chart(filters_figure(filters), width="stretch", key="filters", config=chart_config())
            weights = "trained" if loaded.weights.trained else "random (untrained)"
            st.caption(f"The {filters.shape[0]} filters of the first convolution ({filters.shape[1]}×{filters.shape[2]}"
                       f" px, {weights} weights), each stretched to its own range. Krizhevsky et al. (2012, Fig. 3) "
                       "found oriented edges and colour blobs among AlexNet's 11×11 first-layer filters.")
with tabs[4]:
    if tabs[4].open:
        if loaded.weights.trained:
            st.plotly_chart(top_k_bar_chart(top_predictions(loaded, image)), width="stretch", key="top5",
                            config=chart_config())
        else:
            st.info("Class predictions are hidden: the weights are untrained.")
