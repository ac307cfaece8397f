"""Swin windows: the partition, the cyclic shift and its mask on your image, and real window attention."""

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from app.cnn.figures import histogram_figure, mosaic_figure
from app.cnn.layer_stats import channel_order, layer_stats
from app.figures.colormaps import COLORMAPS
from app.figures.mosaic import channel_mosaic
from app.swin.capture import swin_layout
from app.swin.figures import (
    mark_token,
    mask_figure,
    patch_merging_figure,
    reach_figure,
    reach_picture,
    shift_animation_figure,
    window_attention_mosaic,
    window_labels_figure,
    windows_table,
)
from app.swin.windows import region_labels, shifted_window_mask, swin_reach, window_partition
from components.clicked_cell import clicked_cell
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.lazy_tabs import lazy_tabs
from components.model_picker import model_picker
from components.notebook_code import swin_attention_code
from components.swin_capture import animation_frames, input_view, partition_pictures, swin_capture
from components.transformer_input import choose_input

st.title("Swin windows")
intro = st.empty()  # filled once the window size is chosen below

image = current_image()
loaded = model_picker(("swin",), default="tiny_swin_fmnist")
spec = loaded.spec
source, native_size, rgb = choose_input(loaded, image)
layout = swin_layout(loaded.model)

size_col, window_col, stage_col = st.columns(3)
if source[0] == "fashion-mnist" or spec.preprocessing.input_size != 224:
    size, window = native_size, layout.window
else:
    size = size_col.radio("Geometry at input size", [224, 256], horizontal=True, key="swin_size",
                          help="The windows and masks need no weights: try 256² with window 8.")
    window = window_col.radio("Window", [7, 8], horizontal=True, key="swin_window")
stages = layout.stages(size, window)
stage_number = stage_col.radio("Stage", [g.stage + 1 for g in stages], horizontal=True, key="swin_stage")
geometry = stages[stage_number - 1]
intro.caption(f"Attention inside {window}×{window} windows; every other block shifts the windows by half a window "
              f"({window // 2} tokens) with a cyclic roll, and a mask keeps tokens that came from different places "
              "apart.")
view = input_view(source, spec, size, rgb)
# Real attention and features come from the model at its own size and windows.
native_view = input_view(source, spec, native_size, rgb)
native_geometry = layout.stages(native_size)[stage_number - 1]

# Only the open tab runs: hidden tabs' figures cost the server and every browser a redraw on
# each rerun (measured with twenty students, bench/load.py).
tabs = lazy_tabs(["Windows", "Cyclic shift", "Mask", "Patch merging", "Reach", "Real attention", "Stage features"],
                 "swin_tab", {"Mask": ("mask_window_",), "Reach": ("reach_",),
                              "Real attention": ("swin_click_", "swin_colormap"), "Stage features": ("swin_top_",)})
with tabs[0]:
    if tabs[0].open:
        regular, shifted = partition_pictures(source, geometry, view)
        left, right = st.columns(2)
        count = geometry.window_count
        left.image(regular, caption=f"Regular windows: {count} window{'s' if count != 1 else ''} of "
                                    f"{geometry.window}×{geometry.window} tokens", width="stretch")
        if geometry.shift:
            right.image(shifted, caption=f"Shifted by {geometry.shift}: colours show which sub-region each token "
                                         "lands in after the roll", width="stretch")
        else:
            right.info("No shifted windows in this stage: the window covers the whole map, so timm forces the "
                       "shift to 0 — there is no neighbouring window to exchange information with.")
        st.dataframe(windows_table(stages), hide_index=True, width="stretch")
        if geometry.padded != geometry.grid:
            st.caption(f"{geometry.grid[0]} tokens are not a multiple of {geometry.window}: the map is padded to "
                       f"{geometry.padded[0]} (grey) after the roll, as timm does. timm builds the mask on the padded "
                       "grid, so some rows that wrapped around may attend to each other and the padding joins a "
                       "sub-region (pytorch-image-models issue 2438); the original Swin code does not pad.")

with tabs[1]:
    if tabs[1].open:
        if geometry.shift:
            frames, frame_size = animation_frames(source, geometry, view)
            st.plotly_chart(shift_animation_figure(frames, geometry, frame_size), width="stretch", key="animation",
                            config=chart_config())
            st.caption(f"torch.roll by −{geometry.shift} tokens moves the top rows and left columns to the bottom "
                       "and right; the fixed windows then cut through tokens from different places, labelled 0–8.")
        else:
            st.info("This stage has no shift (one window covers the map).")

with tabs[2]:
    if tabs[2].open:
        if geometry.shift:
            window_index = st.slider("Shifted window", 0, geometry.window_count - 1, geometry.window_count - 1,
                                     key=f"mask_window_{stage_number}",
                                     help="Row-major; the last one, bottom right, gathers four sub-regions.")
            mask = shifted_window_mask(geometry)[window_index]
            labels = region_labels(geometry.padded, geometry.window, geometry.shift)
            window_labels = window_partition(labels[None, ..., None], geometry.window)[window_index].reshape(-1).numpy()
            left, right = st.columns([2, 3])
            left.plotly_chart(window_labels_figure(geometry, window_index), width="stretch", key="window_labels",
                              config=chart_config(PICTURE_TOOLBAR))
            right.plotly_chart(mask_figure(mask, window_labels, f"Its {geometry.window ** 2}×{geometry.window ** 2} mask"),
                               width="stretch", key="mask", config=chart_config())
            st.caption("White: 0, the pair may attend; dark: −100, added before the softmax so the pair gets "
                       "e⁻¹⁰⁰ ≈ 0. The colour strips are the sub-regions, the same colours as on the picture.")
        else:
            st.info("No mask in this stage: without a shift every window holds neighbours only.")

with tabs[3]:
    if tabs[3].open:
        st.plotly_chart(patch_merging_figure(stages), width="stretch", key="merging", config=chart_config())
        st.caption("Between stages, each 2×2 neighbourhood (x0, x1, x2, x3) is concatenated: the resolution halves "
                   "and the channels quadruple, then a linear layer brings them to twice the input's.")

with tabs[4]:
    if tabs[4].open:
        left, right = st.columns([2, 3])
        row = left.slider("Token row", 0, stages[0].grid[0] - 1, stages[0].grid[0] // 2, key="reach_row")
        col = left.slider("Token column", 0, stages[0].grid[1] - 1, stages[0].grid[1] // 2, key="reach_col")
        maps = swin_reach(stages, layout.depths, (row, col))
        names = [f"{s + 1}.{b + 1}" for s, depth in enumerate(layout.depths) for b in range(depth)]
        after = left.select_slider("After block (stage.block)", names, value=names[1], key="reach_block")
        fractions = [float(m.mean()) for m in maps]
        left.image(reach_picture(view, maps[names.index(after)], (row, col)), width="stretch",
                   caption=f"{fractions[names.index(after)]:.0%} of the image can reach the red token")
        right.plotly_chart(reach_figure(fractions, [1.0] * len(names), names), width="stretch", key="reach",
                           config=chart_config())
        right.caption("A ViT token sees the whole image from its first block; a Swin token its window, then, "
                      "through shifted windows and patch merging, ever more.")

with tabs[5]:
    if tabs[5].open:
        capture = swin_capture(loaded, source, native_view)
        click_key = f"swin_click_{spec.name}_{stage_number}"
        # The picture shows the padded map (padding grey); a click on the padding picks the nearest token.
        # Before a click: in the bottom-left window's mixed corner.
        token = clicked_cell(click_key, native_geometry.padded, (native_geometry.grid[0] - 2, 1))
        token = (min(token[0], native_geometry.grid[0] - 1), min(token[1], native_geometry.grid[1] - 1))
        picture_col, maps_col = st.columns([2, 3])
        with picture_col:
            shifted_picture = mark_token(partition_pictures(source, native_geometry, native_view)[1], native_geometry,
                                         token)
            streamlit_image_coordinates(shifted_picture, key=click_key, width="stretch", cursor="crosshair")
            st.caption(f"{spec.title} at {native_size}² with its own {native_geometry.window}×"
                       f"{native_geometry.window} windows, stage {stage_number}: click a token (now row {token[0]}, "
                       f"column {token[1]}); it is ringed red.")
            colormap = st.selectbox("Colormap", COLORMAPS, index=2, key="swin_colormap")
        with maps_col:
            blocks = [b for b in capture.blocks if b.stage == stage_number - 1][:2]
            for block in blocks:
                maps, hidden, to_padding = block.token_attention(*token)
                kind = "shifted windows, masked keys grey" if block.shifted else "regular windows"
                mosaic = window_attention_mosaic(native_view, maps, hidden, token, colormap)
                st.plotly_chart(mosaic_figure(mosaic, title=f"Block {block.block + 1}: {kind}", tile_name="head",
                                              height=420), width="stretch", key=f"swin_attention_{block.block}",
                                config=chart_config())
                if to_padding:
                    st.caption(f"{to_padding:.0%} of this token's attention went to padding tokens.")
            if not any(block.shifted for block in blocks):
                st.caption("This stage has no shifted block: one window covers the whole map.")
            with st.expander("The last map in a notebook (Python)", icon=":material/code:"):
                st.code(swin_attention_code(loaded, source, native_size, image, block.stage, block.block,
                                            block.shifted, token, colormap), language="python", wrap_lines=True)

with tabs[6]:
    if tabs[6].open:
        features = swin_capture(loaded, source, native_view).stage_features[stage_number - 1]
        order = channel_order(features, "mean")
        top = st.slider("Channels", 1, features.shape[0], min(64, features.shape[0]), key=f"swin_top_{stage_number}")
        st.plotly_chart(mosaic_figure(channel_mosaic(features, order[:top], "Viridis")), width="stretch",
                        key="swin_mosaic", config=chart_config())
        st.plotly_chart(histogram_figure(layer_stats(features), title=f"Stage {stage_number} output"),
                        width="stretch", key="swin_hist", config=chart_config())
        st.caption(f"Stage {stage_number}: {features.shape[0]} channels on a {features.shape[1]}×{features.shape[2]} "
                   "map (timm keeps Swin's maps as NHWC; shown as channels), strongest mean first.")
