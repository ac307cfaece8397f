"""Dense prediction: a class for every pixel, and what U-Net's skip connections are for."""

import numpy as np
import streamlit as st

from app.cnn.figures import mosaic_figure
from app.figures.mosaic import channel_mosaic
from app.figures.plot_images import titled_pictures
from app.segmentation.data import photo_view
from app.segmentation.figures import add_legend, grey_picture, mask_picture
from app.segmentation.metrics import boundary_f_score, confusion, mean_iou
from app.segmentation.scenes import CLASSES
from app.training.fashion_mnist import DatasetMissing
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.image_picker import current_image
from components.segmentation_work import KEYS, segmented, test_scenes, unet

TITLES = {"unet": "U-Net", "unet_noskip": "U-Net, no skips"}

st.title("Dense prediction")
st.caption("Segmentation gives every pixel a class. FCN (Long et al. 2015) drops the fully connected layers, so "
           "any input size gives a map of scores per class; U-Net (Ronneberger et al. 2015) adds a symmetric "
           "expanding path that upsamples step by step and, through skip connections, takes back the "
           "contracting path's maps of the same size: context from below, precise places from the side.")
st.markdown("**Two U-Nets trained by this project** on scenes of two to four Fashion-MNIST garments on a 64×64 "
            "canvas (eleven classes with the background): the same network, seed and training, once with its skip "
            "connections and once without.")

image = current_image()
source = st.radio("Input", ["A test scene", "Your image, converted"], horizontal=True, key="seg_source")
truth = None
if source == "A test scene":
    try:
        scenes = test_scenes()
    except DatasetMissing as missing:
        st.error(str(missing))
        st.stop()
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
