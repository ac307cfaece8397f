"""ViT & DINO attention: per head, any layer, rollout, a clicked patch, attention distance."""

import streamlit as st
import torch
from streamlit_image_coordinates import streamlit_image_coordinates

import pretrained
from app.cnn.figures import mosaic_figure
from app.figures.overlays import map_overlay_figure
from app.figures.prediction_chart import top_k_bar_chart
from app.predictions import top_k
from app.vit.figures import attention_distance_figure, head_maps_mosaic, patch_grid_picture
from app.vit.maps import attention_rollout, mass_threshold_mask, mean_attention_distance
from components.clicked_cell import clicked_cell
from components.figure_export import chart_config
from components.image_picker import current_image
from components.lazy_tabs import lazy_tabs
from components.model_picker import model_picker
from components.models import loaded_model
from components.notebook_code import vit_heads_code
from components.transformer_input import choose_input
from components.vit_capture import attention_of, last_block_grad_cam

st.title("ViT & DINO attention")
st.caption("One forward pass keeps every layer's attention (layers × heads × tokens × tokens); the shared model "
           "is never switched to another attention kernel.")

image = current_image()
loaded = model_picker(("vit", "dino"), default="tiny_vit_fmnist")
spec = loaded.spec
source, size, rgb = choose_input(loaded, image)
viewed = attention_of(loaded, source, size, rgb)
capture, view = viewed.capture, viewed.view
last = capture.layers

# Only the open tab runs: hidden tabs' figures cost the server and every browser a redraw on
# each rerun (measured with twenty students, bench/load.py).
tabs = lazy_tabs(["Heads", "Rollout", "Click a patch", "Attention distance", "Predictions"], "vit_tab",
                 {"Heads": ("heads_",), "Rollout": ("rollout_", "vit_target_"), "Click a patch": ("click_",),
                  "Attention distance": ("distance_other",)})
with tabs[0]:
    if tabs[0].open:
        controls, picture = st.columns([1, 3])
        layer = controls.slider("Layer", 1, last, last, key="heads_layer")
        smooth = controls.radio("Upsampling", ["nearest", "smooth"], key="heads_upsampling") == "smooth"
        show_mask = controls.toggle("DINO's mask", key="heads_mask",
                                    help="Keep the patches that hold the chosen share of each head's attention.")
        mass = controls.slider("Attention mass kept (%)", 10, 95, 60, 5, key="heads_mass", disabled=not show_mask)
        maps = capture.patch_attention(layer - 1)
        masks = mass_threshold_mask(maps, mass / 100) if show_mask else None
        picture.plotly_chart(mosaic_figure(head_maps_mosaic(view, maps, smooth=smooth, masks=masks), tile_name="head",
                                           height=560), width="stretch", key="heads", config=chart_config())
        who = "the CLS token" if capture.has_class_token else "the patches on average"
        picture.caption(f"Layer {layer}: how much {who} attends to each patch, one tile per head ({capture.heads}).")
        with picture.expander("These maps in a notebook (Python)", icon=":material/code:"):
            st.code(vit_heads_code(loaded, source, size, image, capture.attentions.dtype == torch.float16, layer,
                                   smooth, mass / 100 if show_mask else None), language="python", wrap_lines=True)

with tabs[1]:
    if tabs[1].open:
        left, middle, right = st.columns(3)
        fusion = left.radio("Head fusion", ["mean", "max", "min"], horizontal=True, key="rollout_fusion")
        discard = middle.slider("Discard ratio", 0.0, 0.95, 0.0, 0.05, key="rollout_discard",
                                help="Zero the weakest share of each layer's fused attention before multiplying.")
        rollout = capture.to_patches(attention_rollout(capture.attentions, fusion, discard))
        raw = capture.patch_attention(last - 1).mean(dim=0)
        columns = st.columns(3 if spec.has_classifier else 2)

        def side_by_side(column, values, title, label, key, tickformat=".2~%"):
            # One height, colour bar underneath and zero transparent: the maps line up at one size.
            column.plotly_chart(map_overlay_figure(
                view, values, 0.75, "Inferno", (0.0, float(values.max()) or 1.0), title=title, height=420,
                value_label=label, fade=True, tickformat=tickformat, colorbar_below=True),
                width="stretch", key=key, config=chart_config())

        side_by_side(columns[0], rollout, "Attention rollout", "share", "rollout")
        side_by_side(columns[1], raw, f"Raw layer {last}, mean of heads", "share", "raw")
        if spec.has_classifier:
            names = pretrained.class_names(spec)
            ranked = torch.argsort(capture.logits, descending=True).tolist()
            target = right.selectbox("Grad-CAM for the class", ranked, key=f"vit_target_{source}_{spec.name}",
                                     format_func=lambda i: names[i])
            cam = last_block_grad_cam(loaded, viewed, source, size, target)
            side_by_side(columns[2], torch.from_numpy(cam), f"Grad-CAM: {names[target]}", "Grad-CAM",
                         "vit_gradcam", tickformat=None)
        st.caption("Rollout multiplies the layers' attention with the residual stream added (Abnar & Zuidema 2020)"
                   + ("; Grad-CAM weighs the last block's tokens, reshaped to the patch grid, by the class gradient."
                      if spec.has_classifier else ".")
                   + " The first two colour bars give each patch's share of the attention; every map is "
                     "transparent where it is zero.")

with tabs[2]:
    if tabs[2].open:
        click_col, maps_col = st.columns([2, 3])
        layer = click_col.slider("Layer", 1, last, last, key="click_layer")
        click_key = f"click_{spec.name}_{size}"
        row, col = clicked_cell(click_key, capture.grid)
        with click_col:
            streamlit_image_coordinates(patch_grid_picture(view, capture.grid, (row, col)), key=click_key, width="stretch",
                                        cursor="crosshair")
            st.caption(f"Patch ({row}, {col}) is framed in yellow; click another.")
        maps = capture.patch_attention(layer - 1, query=capture.query_of_patch(row, col))
        maps_col.plotly_chart(mosaic_figure(head_maps_mosaic(view, maps), tile_name="head", height=520),
                              width="stretch", key="clicked_maps", config=chart_config())
        maps_col.caption(f"Where patch ({row}, {col}) looks in layer {layer}, one tile per head.")

with tabs[3]:
    if tabs[3].open:
        def distances(capture_, size_):  # in pixels of a 224 px input, so models of any size compare
            pixels = mean_attention_distance(capture_.attentions, capture_.grid, capture_.patch_size,
                                             capture_.prefix_tokens)
            return pixels * 224 / size_

        series = {spec.title: distances(capture, size)}
        others = [s.name for f in ("vit", "dino") for s in pretrained.list_specs(f) if s.name != spec.name]
        other = st.selectbox("Compare with", [None, *others], key="distance_other",
                             format_func=lambda n: "—" if n is None else pretrained.get_spec(n).title)
        if other is not None:
            other_loaded = loaded_model(other)
            other_source, other_size, other_rgb = choose_input(other_loaded, image, interactive=False)
            other_capture = attention_of(other_loaded, other_source, other_size, other_rgb).capture
            label = other_loaded.spec.title + ("" if other_loaded.weights.trained else " (untrained)")
            series[label] = distances(other_capture, other_size)
        st.plotly_chart(attention_distance_figure(series), width="stretch", key="distance", config=chart_config())
        st.caption("Each point is one head: the distance, in pixels of a 224 px input, over which its patches gather "
                   "information (Dosovitskiy et al. 2020, Figure 7). In the paper's trained ViTs, early layers mix near "
                   "and far heads and deep ones look far; random weights look everywhere.")

with tabs[4]:
    if tabs[4].open:
        if not spec.has_classifier:
            st.info(f"{spec.title} has no classifier: DINO learns features without labels.")
        elif not loaded.weights.trained:
            st.info("Class predictions are hidden: the weights are untrained.")
        else:
            predictions = top_k(capture.logits, pretrained.class_names(spec), k=5)
            st.plotly_chart(top_k_bar_chart(predictions), width="stretch", key="vit_top5", config=chart_config())
