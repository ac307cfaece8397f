"""Dense prediction: a class for every pixel, and what U-Net's skip connections are for."""

import numpy as np
import streamlit as st

import pretrained
from app.cnn.figures import mosaic_figure
from app.figures.colormaps import apply_colormap
from app.figures.mosaic import channel_mosaic
from app.figures.plot_images import titled_pictures
from app.preprocess import at_input_size, model_view, normalize, preprocess
from app.segmentation.data import photo_view
from app.segmentation.figures import add_legend, blended, grey_picture, mask_picture, outlined, voc_colours
from app.segmentation.metrics import boundaries, boundary_f_score, confusion, mean_iou
from app.segmentation.scenes import CLASSES
from app.segmentation.voc import class_scores, pixel_classes
from app.training.fashion_mnist import DatasetMissing
from components.capture_cache import captured, captured_in_background
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.lazy_tabs import lazy_tabs
from components.models import loaded_model, model_key, untrained_banner
from components.out_of_memory import stop_on_out_of_memory
from components.segmentation_work import KEYS, segmented, test_scenes, unet
from components.weights_download import download_button, show_download_result

TITLES = {"unet": "U-Net", "unet_noskip": "U-Net, no skips"}
GRID_SIZES = (224, 320, 520)  # shorter sides at which the VOC networks' score grids are compared

st.title("Dense prediction")
st.caption("Segmentation gives every pixel a class. FCN (Long et al. 2015) drops the fully connected layers, so "
           "any input size gives a map of scores per class; U-Net (Ronneberger et al. 2015) adds a symmetric "
           "expanding path that upsamples step by step and, through skip connections, takes back the "
           "contracting path's maps of the same size: context from below, precise places from the side.")
tabs = lazy_tabs(["Skip connections (U-Net)", "Pascal VOC networks"], "seg_tab",
                 {"Skip connections (U-Net)": ("seg_",), "Pascal VOC networks": ("voc_",)})


def unet_view():
    st.markdown("**Two U-Nets trained by this project** on scenes of two to four Fashion-MNIST garments on a "
                "64×64 canvas (eleven classes with the background): the same network, seed and training, once with "
                "its skip connections and once without.")
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
    maps, height, width = found["unet"].decoder.shape
    st.caption(f"The last decoder level's {maps} maps at {height}×{width}, which the 1×1 convolution turns into the "
               f"{len(CLASSES)} score maps: with the skips they hold sharp edges taken from the first encoder level; "
               "without them, only what came up through the bottleneck.")
    for key, result in found.items():
        channels = list(range(result.decoder.shape[0]))
        st.plotly_chart(mosaic_figure(channel_mosaic(result.decoder, channels), title=TITLES[key], height=260),
                        width="stretch", key=f"seg_decoder_{key}", config=chart_config(PICTURE_TOOLBAR))


def voc_view():
    names = {spec.name: spec.title for spec in pretrained.list_specs("segmentation")}
    name = st.radio("Network", list(names), format_func=names.get, horizontal=True, key="voc_model")
    loaded = loaded_model(name)
    show_download_result()
    if untrained_banner(loaded) and pretrained.weights_status(loaded.spec) is pretrained.WeightsStatus.DOWNLOADABLE:
        download_button(loaded.spec)
    image = current_image()
    spec = loaded.spec
    view = model_view(image.rgb, spec.preprocessing)
    key = ("voc classes", image.sha256, *model_key(loaded))
    compute = lambda: pixel_classes(loaded.model, normalize(view, spec.preprocessing))  # noqa: E731
    with stop_on_out_of_memory(f"running {spec.title}"):
        captured_in_background(key, compute, f"{spec.title} on your picture")
        found = captured(key, compute)
    classes = pretrained.class_names(spec)
    colours = voc_colours(len(classes))
    log_classes = float(np.log(len(classes)))
    figure = titled_pictures({
        "classes over the picture": blended(view, found.mask, colours),
        "confidence (0 to 1)": apply_colormap(found.confidence, "Viridis"),
        f"entropy (0 to ln {len(classes)})": apply_colormap(found.entropy / log_classes, "Magma"),
        "class boundaries": outlined(view, boundaries(found.mask)),
    }, height=640, cols=2)
    if loaded.weights.trained:
        add_legend(figure, classes, found.mask, colours)
    st.plotly_chart(figure, width="stretch", key="voc_maps", config=chart_config(PICTURE_TOOLBAR))
    unsure = float((found.confidence < 0.5).mean())
    st.caption(f"{spec.title} sees the picture at {view.shape[1]}×{view.shape[0]} px (shorter side "
               f"{spec.preprocessing.resize_size}, nothing cropped). {unsure:.1%} of its pixels have no class above "
               "50 %; the entropy is highest where it hesitates between classes.")
    if not loaded.weights.trained:
        st.caption(f"With random weights the {len(np.unique(found.mask))} colours are classes of nothing: their "
                   "names are hidden, as every page hides an untrained network's predictions.")
    else:
        st.dataframe([{"Class": c, "Share of the picture": share} for c, share in found.shares(classes)],
                     hide_index=True, key="voc_shares",
                     column_config={"Share of the picture": st.column_config.NumberColumn(format="percent")})
    input_sizes_view(loaded, image, colours)


def input_sizes_view(loaded, image, colours):
    """FCN's point: the same weights at any input size, the score grid growing with it."""
    st.subheader("Any input size")
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


with tabs[0]:
    if tabs[0].open:
        unet_view()
with tabs[1]:
    if tabs[1].open:
        voc_view()
