"""Dense prediction: a class for every pixel, and what U-Net's skip connections are for."""

import numpy as np
import streamlit as st
import torch

import pretrained
from app.cnn.figures import mosaic_figure
from app.figures.colormaps import apply_colormap, normalise
from app.figures.mosaic import channel_mosaic
from app.figures.overlays import map_overlay_figure
from app.figures.plot_images import EncodedPicture, titled_pictures
from app.preprocess import at_input_size, model_view, normalize, preprocess
from app.segmentation.data import photo_view
from app.segmentation.figures import (
    ClassPictures,
    add_legend,
    class_pictures,
    grey_picture,
    mask_picture,
    voc_colours,
)
from app.segmentation.levels import BOTTLENECK, decoder_parts, level_map, level_names, upsampling_input
from app.segmentation.metrics import boundary_f_score, confusion, mean_iou
from app.segmentation.scenes import CLASSES
from app.segmentation.seg_grad_cam import Region, on_input, unet_seg_grad_cam
from app.segmentation.upsampling import inputs_read
from app.segmentation.voc import PixelClasses, class_scores, pixel_classes, voc_seg_grad_cam
from app.training.fashion_mnist import DatasetMissing, to_input
from components.capture_cache import captured, captured_in_background
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.lazy_tabs import draw_open, lazy_tabs
from components.models import model_key
from components.out_of_memory import stop_on_out_of_memory
from components.region_picker import picked_region
from components.segmentation_work import BILINEAR, KEYS, segmented, test_scenes, unet
from components.weights_download import shown_model

TITLES = {"unet": "U-Net", "unet_noskip": "U-Net, no skips", "unet_bilinear": "U-Net, bilinear"}
GRID_SIZES = (224, 320, 520)  # shorter sides at which the VOC networks' score grids are compared

st.title("Dense prediction")
st.caption("Segmentation gives every pixel a class. FCN (Long et al. 2015) drops the fully connected layers, so "
           "any input size gives a map of scores per class; U-Net (Ronneberger et al. 2015) adds a symmetric "
           "expanding path that upsamples step by step and, through skip connections, takes back the "
           "contracting path's maps of the same size: context from below, precise places from the side.")
tabs = lazy_tabs(["Skip connections (U-Net)", "Pascal VOC networks"], "seg_tab",
                 {"Skip connections (U-Net)": ("seg_",), "Pascal VOC networks": ("voc_",)})


def unet_view():
    st.markdown("**U-Nets trained by this project** on scenes of two to four Fashion-MNIST garments on a 64×64 "
                "canvas (eleven classes with the background): the same network, seed and training, with its skip "
                "connections, without them, and (under Upsampling) with bilinear upsampling.")
    image = current_image()
    source = st.radio("Input", ["A test scene", "Your image, converted"], horizontal=True, key="seg_source")
    truth = None
    if source == "A test scene":
        try:
            scenes = test_scenes()
        except DatasetMissing as missing:
            st.error(str(missing))
            return
        index = st.number_input("Test scene", 0, len(scenes.images) - 1, 0, key="seg_scene",
                                help="One of the 1,000 test scenes, built from test images the U-Nets never saw.")
        picture, truth = scenes.images[index], scenes.masks[index]
    else:
        picture = photo_view(image.rgb)
        st.info("Your picture shrunk to 64×64 grey: these U-Nets only know Fashion-MNIST clothes on black, so their "
                "masks say more about the models than about your picture.")

    views = lazy_tabs(["Masks and scores", "Level by level", "Upsampling", "Seg-Grad-CAM"], "seg_view",
                      {"Level by level": ("seg_inside", "seg_level"), "Upsampling": ("seg_up_",),
                       "Seg-Grad-CAM": ("seg_cam",)})
    for tab, view in zip(views, (masks_view, inside_view, upsampling_view, unet_grad_cam_view)):
        with tab:
            if tab.open:
                view(picture, truth)


def masks_view(picture: np.ndarray, truth: np.ndarray | None):
    found = {key: segmented(key, picture) for key in KEYS}
    panels = {"input": grey_picture(picture)}
    if truth is not None:
        panels["true classes"] = mask_picture(truth)
    panels |= {TITLES[key]: mask_picture(result.mask) for key, result in found.items()}
    figure = titled_pictures(panels, height=330)
    add_legend(figure, CLASSES, np.concatenate([r.mask.ravel() for r in found.values()]
                                               + ([truth.ravel()] if truth is not None else [])))
    st.plotly_chart(figure, width="stretch", key="seg_masks", config=chart_config(PICTURE_TOOLBAR))

    rows = []
    for key, result in found.items():
        row = {"Network": TITLES[key]}
        if truth is not None:
            row |= {"mIoU, this scene": mean_iou(confusion(result.mask, truth, len(CLASSES))),
                    "Boundary F (1 px), this scene": boundary_f_score(result.mask, truth)}
        card = unet(key)[1]
        row |= {"mIoU, 1,000 test scenes": card["miou"], "Boundary F, 1,000 test scenes": card["boundary_f"]}
        rows.append(row)
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(rows, hide_index=True, width="stretch", key="seg_scores",
                 column_config={name: percent for name in rows[0] if name != "Network"})
    skips, plain = rows
    bottleneck = picture.shape[0] // 2 ** (len(unet("unet")[0].down))  # one 2×2 pool per contracting level
    st.caption(f"Over the test scenes, the skip connections raise the boundary F-score (predicted class boundaries "
               f"within 1 px of the true ones) from {plain['Boundary F, 1,000 test scenes']:.1%} to "
               f"{skips['Boundary F, 1,000 test scenes']:.1%}, and the mean IoU from "
               f"{plain['mIoU, 1,000 test scenes']:.1%} to {skips['mIoU, 1,000 test scenes']:.1%}: without them the "
               f"decoder must rebuild every edge from the {bottleneck}×{bottleneck} bottleneck.")

    st.subheader("What the classifier reads")
    maps, height, width = found["unet"].paths.decoder[-1][0].shape
    st.caption(f"The last decoder level's {maps} maps at {height}×{width}, which the 1×1 convolution turns into the "
               f"{len(CLASSES)} score maps: with the skips they hold sharp edges taken from the first encoder level; "
               "without them, only what came up through the bottleneck.")
    for key, result in found.items():
        st.plotly_chart(maps_figure(result.paths.decoder[-1], TITLES[key], 260), width="stretch",
                        key=f"seg_decoder_{key}", config=chart_config(PICTURE_TOOLBAR))


def maps_figure(maps: torch.Tensor, title: str, height: int = 300):
    """Every map of a (1, C, H, W) level as the feature-map page's mosaic."""
    return mosaic_figure(channel_mosaic(maps[0], list(range(maps.shape[1]))), title=title, height=height)


def shape_text(maps: torch.Tensor) -> str:
    return "×".join(str(n) for n in maps.shape[1:])


def inside_view(picture: np.ndarray, truth: np.ndarray | None):
    """Every level's maps, and at a decoder level the two tensors it concatenates."""
    key = st.radio("Network", [*KEYS, BILINEAR], format_func=TITLES.get, horizontal=True, key="seg_inside_model")
    paths = segmented(key, picture).paths
    names = level_names(len(paths.encoder))
    level = st.select_slider("Level", names, value=names[-1], key="seg_level",
                             help="Down the contracting path, through the bottleneck, up the expanding path.")
    output = level_map(paths, level)
    if not level.startswith("decoder"):
        st.plotly_chart(maps_figure(output, f"{level}: {shape_text(output)}", 420), width="stretch",
                        key="seg_level_maps", config=chart_config(PICTURE_TOOLBAR))
        st.caption(f"{level.capitalize()}: {output.shape[1]} maps of {output.shape[2]}×{output.shape[3]} after two "
                   "3×3 convolutions; every 2×2 max-pool between levels halves the size, so each level sees more "
                   "context and knows less precisely where.")
        return
    upsampled, skip = decoder_parts(paths, level)
    number = level.split()[1]
    columns = st.columns(3)
    panels = ((f"skip from encoder {number}: {shape_text(skip)}", skip),
              (f"upsampled from below: {shape_text(upsampled)}", upsampled),
              (f"{level}'s output: {shape_text(output)}", output))
    for column, (title, maps), name in zip(columns, panels, ("skip", "upsampled", "output")):
        column.plotly_chart(maps_figure(maps, title, 300), width="stretch", key=f"seg_level_{name}",
                            config=chart_config(PICTURE_TOOLBAR))
    if unet(key)[0].up[0].skip:
        st.caption(f"{level.capitalize()} concatenates encoder {number}'s {skip.shape[1]} maps, sharp and in place, "
                   f"with the {upsampled.shape[1]} maps upsampled from below, coarse but knowing what is there: "
                   f"{skip.shape[1] + upsampled.shape[1]} channels enter its two 3×3 convolutions, which give "
                   f"{output.shape[1]}.")
    else:
        st.caption(f"This network drops encoder {number}'s {skip.shape[1]} maps (shown for comparison): its "
                   f"convolutions see only the {upsampled.shape[1]} maps upsampled from below, so every edge must "
                   "come back up through the bottleneck.")


def upsampling_view(picture: np.ndarray, truth: np.ndarray | None):
    """A transposed convolution against bilinear interpolation, at one decoder level."""
    models = {key: unet(key) for key in ("unet", BILINEAR)}
    decoder = [name for name in level_names(len(models["unet"][0].down)) if name.startswith("decoder")]
    level = st.select_slider("Decoder level", decoder, value=decoder[-1], key="seg_up_level")
    columns = st.columns(2)
    read = {}
    for column, (key, (model, card)) in zip(columns, models.items()):
        paths = segmented(key, picture).paths
        layer = model.up[len(model.up) - int(level.split()[1])].upsample
        read[key] = inputs_read(layer, upsampling_input(paths, level))
        upsampled = decoder_parts(paths, level)[0]
        column.plotly_chart(maps_figure(upsampled, f"{TITLES[key]}, {level}: {shape_text(upsampled)}", 320),
                            width="stretch", key=f"seg_upsampled_{key}", config=chart_config(PICTURE_TOOLBAR))
    transposed, bilinear = (models[k][1] for k in ("unet", BILINEAR))
    st.caption(f"At {level}, one output pixel of the trained 2×2 transposed convolution (stride 2) reads "
               f"{read['unet']} input position: every 2×2 block is its kernel times one pixel, so the maps rise in "
               f"blocks. Bilinear interpolation reads {read[BILINEAR]}, blending neighbours smoothly, and a 1×1 "
               f"convolution then mixes the channels. Trained alike, on the 1,000 test scenes: transposed "
               f"{transposed['miou']:.1%} mIoU and {transposed['boundary_f']:.1%} boundary F; bilinear "
               f"{bilinear['miou']:.1%} and {bilinear['boundary_f']:.1%}{better_on_both(transposed, bilinear)}.")


def better_on_both(transposed: dict, bilinear: dict) -> str:
    """", so … does better on both scores" when one upsampling wins both, else nothing."""
    for name, one, other in (("bilinear", bilinear, transposed), ("transposed", transposed, bilinear)):
        if all(one[score] > other[score] for score in ("miou", "boundary_f")):
            return f", so {name} upsampling does better on both scores"
    return ""


def unet_grad_cam_view(picture: np.ndarray, truth: np.ndarray | None):
    st.markdown("**Seg-Grad-CAM: what supports a class in a region.**")
    key = st.radio("Network", [*KEYS, BILINEAR], format_func=TITLES.get, horizontal=True, key="seg_cam_model")
    model = unet(key)[0]
    mask = segmented(key, picture).mask
    counts = np.bincount(mask.ravel(), minlength=len(CLASSES))
    garment = int(np.argmax(counts[1:]) + 1) if counts[1:].any() else 0
    cls = st.selectbox("Class", range(len(CLASSES)), index=garment, format_func=CLASSES.__getitem__,
                       key="seg_cam_class")
    names = level_names(len(model.down))
    level = st.select_slider("Layer explained", names, value=BOTTLENECK, key="seg_cam_level")
    left, right = st.columns(2)
    with left:
        st.markdown("**Drag a box on the mask**")
        region = picked_region(mask_picture(mask), "seg_cam", Region.around(mask, cls),
                               legend=lambda figure: add_legend(figure, CLASSES, mask, font_size=13, per_line=3))
    explanation = unet_seg_grad_cam(model, to_input(picture[None]), level, cls, region)
    shown = on_input(explanation, *picture.shape)
    with right:
        st.markdown("**Seg-Grad-CAM over the input**")
        st.plotly_chart(map_overlay_figure(grey_picture(picture), explanation, smooth=True, box=region_box(region),
                                           height=360, value_label="support", colorbar_below=True), width="stretch",
                        key="seg_cam_map", config=chart_config(PICTURE_TOOLBAR))
    st.caption(grad_cam_caption(shown, region, CLASSES[cls], f"{level} ({explanation.shape[0]}×"
                                f"{explanation.shape[1]})"))


def region_box(region: Region) -> tuple[int, int, int, int]:
    return region.left, region.top, region.right, region.bottom


def grad_cam_caption(shown: torch.Tensor, region: Region, name: str, layer: str) -> str:
    total = float(shown.sum())
    area = (region.bottom - region.top) * (region.right - region.left) / shown.numel()
    if total == 0:
        return (f"At {layer} no map adds positive evidence for \"{name}\" in this region: the weighted sum is "
                "≤ 0 everywhere, and the ReLU leaves nothing. Try another layer or class.")
    inside = float(shown[region.top:region.bottom, region.left:region.right].sum()) / total
    said = (f"The scores of \"{name}\" summed over the box ({area:.0%} of the picture), explained at {layer}: "
            "each map weighted by its mean gradient, summed, negatives cut (Vinogradova et al. 2020).")
    if area == 1:
        return said + " The box is the whole picture: drag a smaller one to see what the network uses from outside it."
    return said + (f" {inside:.0%} of the support lies inside the box; the rest is context the network used from "
                   "outside it.")


def voc_view():
    names = {spec.name: spec.title for spec in pretrained.list_specs("segmentation")}
    name = st.radio("Network", list(names), format_func=names.get, horizontal=True, key="voc_model")
    loaded = shown_model(name)
    image = current_image()
    colours = voc_colours(len(pretrained.class_names(loaded.spec)))
    views = lazy_tabs(["Classes on your picture", "Any input size", "Seg-Grad-CAM"], "voc_view",
                      {"Any input size": ("voc_grid",), "Seg-Grad-CAM": ("voc_cam",)})
    draw_open(views, [lambda: classes_view(loaded, image, colours), lambda: input_sizes_view(loaded, image, colours),
                      lambda: voc_grad_cam_view(loaded, image, colours)])


def voc_classes(loaded, image, colours) -> tuple[PixelClasses, ClassPictures]:
    """The network's classes on the picture and their pictures, computed and encoded once per server."""
    spec = loaded.spec

    def compute():
        view = model_view(image.rgb, spec.preprocessing)
        found = pixel_classes(loaded.model, normalize(view, spec.preprocessing))
        return found, class_pictures(view, found, colours)

    with stop_on_out_of_memory(f"running {spec.title}"):
        key = ("voc classes", image.sha256, *model_key(loaded))
        captured_in_background(key, compute, f"{spec.title} on your picture")
        return captured(key, compute)


def classes_view(loaded, image, colours):
    spec = loaded.spec
    found, pictures = voc_classes(loaded, image, colours)
    classes = pretrained.class_names(spec)
    figure = titled_pictures(pictures.panels, height=640, cols=2)
    if loaded.weights.trained:
        add_legend(figure, classes, found.mask, colours)
    st.plotly_chart(figure, width="stretch", key="voc_maps", config=chart_config(PICTURE_TOOLBAR))
    unsure = float((found.confidence < 0.5).mean())
    view = pictures.view
    st.caption(f"{spec.title} sees the picture at {view.width}×{view.height} px ({view_note(image.rgb, view, spec)}, "
               f"nothing cropped). {unsure:.1%} of its pixels have no class above 50 %; the entropy is highest where "
               "it hesitates between classes.")
    if not loaded.weights.trained:
        st.caption(f"With random weights the {len(np.unique(found.mask))} colours are classes of nothing: their "
                   "names are hidden, as every page hides an untrained network's predictions.")
    else:
        st.dataframe([{"Class": c, "Share of the picture": share} for c, share in found.shares(classes)],
                     hide_index=True, key="voc_shares",
                     column_config={"Share of the picture": st.column_config.NumberColumn(format="percent")})


def view_note(rgb: np.ndarray, view: EncodedPicture, spec) -> str:
    """How the picture was scaled to the network's view."""
    shorter, resize = min(view.height, view.width), spec.preprocessing.resize_size
    if shorter < resize:
        return (f"more than 2:1, so its longer side is capped at {spec.preprocessing.max_size} px to bound the "
                f"memory and its shorter side comes to {shorter} px")
    return f"shorter side {'enlarged' if min(rgb.shape[:2]) < resize else 'scaled'} to {resize} px"


def voc_grad_cam_view(loaded, image, colours):
    st.markdown("**Seg-Grad-CAM: what supports a class in a region.**")
    spec = loaded.spec
    found, pictures = voc_classes(loaded, image, colours)
    classes = pretrained.class_names(spec) if loaded.weights.trained else tuple(
        f"class {c}" for c in range(len(colours)))
    counts = np.bincount(found.mask.ravel(), minlength=len(classes))
    cls = st.selectbox("Class", range(len(classes)), index=int(np.argmax(counts[1:]) + 1) if counts[1:].any() else 0,
                       format_func=lambda c: f"{classes[c]} ({counts[c] / found.mask.size:.0%} of the picture)",
                       key="voc_cam_class")
    left, right = st.columns(2)
    with left:
        st.markdown("**Drag a box on the classes**")
        region = picked_region(pictures.classes, "voc_cam", Region.around(found.mask, cls), legend=(
            (lambda figure: add_legend(figure, classes, found.mask, colours, font_size=13, per_line=3))
            if loaded.weights.trained else None))
    key = ("voc seg-grad-cam", image.sha256, *model_key(loaded), cls, region)
    def compute():
        return voc_seg_grad_cam(loaded.model, preprocess(image.rgb, spec.preprocessing), cls, region)

    with stop_on_out_of_memory(f"explaining {spec.title}'s region"):
        captured_in_background(key, compute, f"Seg-Grad-CAM of {spec.title} (a backward pass)")
        explanation = captured(key, compute)
    with right:
        st.markdown("**Seg-Grad-CAM over the picture**")
        st.plotly_chart(map_overlay_figure(pictures.view, explanation, smooth=True, box=region_box(region), height=360,
                                           value_label="support", colorbar_below=True), width="stretch",
                        key="voc_cam_map", config=chart_config(PICTURE_TOOLBAR))
    layer = "the backbone's last map" + f" ({explanation.shape[0]}×{explanation.shape[1]})"
    st.caption(grad_cam_caption(on_input(explanation, *found.mask.shape), region, classes[cls], layer))


def input_sizes_view(loaded, image, colours):
    """FCN's point: the same weights at any input size, the score grid growing with it."""
    spec = loaded.spec
    key = ("voc grids", image.sha256, *model_key(loaded))

    def compute():
        return {size: class_scores(loaded.model, preprocess(image.rgb, at_input_size(spec.preprocessing, size)))
                for size in GRID_SIZES}

    with stop_on_out_of_memory(f"running {spec.title} at three sizes"):
        captured_in_background(key, compute, f"{spec.title} at {', '.join(map(str, GRID_SIZES))} px")
        grids = captured(key, compute)
    st.plotly_chart(titled_pictures({f"{size} px → {g.shape[1]}×{g.shape[2]} scores": mask_picture(
        g.argmax(dim=0).numpy(), colours) for size, g in grids.items()}, height=300),
        width="stretch", key="voc_grids", config=chart_config(PICTURE_TOOLBAR))
    strides = sorted({round(size / min(g.shape[1:])) for size, g in grids.items()})
    st.caption(f"The head's class of every cell of its score grid, before the grid is upsampled to the picture: "
               f"the same weights at every size, one cell for every {' or '.join(f'{n}×{n}' for n in strides)} input "
               "pixels, so the grid grows with the input. No layer needs a fixed size: FCN's head ends in a 1×1 "
               "convolution, one score map per class.")
    names = pretrained.class_names(spec) if loaded.weights.trained else tuple(
        f"class {c}" for c in range(len(colours)))
    cls = st.selectbox("Score map of", range(len(names)), format_func=names.__getitem__, key="voc_grid_class")
    maps = {size: g[cls] for size, g in grids.items()}
    low, high = min(float(m.min()) for m in maps.values()), max(float(m.max()) for m in maps.values())
    st.plotly_chart(titled_pictures({f"{size} px: {m.shape[0]}×{m.shape[1]}": apply_colormap(
        normalise(m.numpy(), low, high), "Viridis") for size, m in maps.items()}, height=300),
        width="stretch", key="voc_grid_scores", config=chart_config(PICTURE_TOOLBAR))
    st.caption(f"The score map of \"{names[cls]}\" that the head computes at each size, on one colour scale from "
               f"{low:.2f} to {high:.2f}: the grids' argmax above takes, in every cell, the class whose map is "
               "highest there.")


with tabs[0]:
    if tabs[0].open:
        unet_view()
with tabs[1]:
    if tabs[1].open:
        voc_view()
