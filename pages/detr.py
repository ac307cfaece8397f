"""DETR: boxes from object queries, where each query looked, the encoder's attention, the matching."""

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

import pretrained
from app.detection.figures import cost_matrix_figure, detections_figure
from app.detection.matching import hungarian_match, matching_costs
from app.detection.reading import (
    answering_no_object,
    boxes_in_pixels,
    found,
    greedy_total,
    ranked_queries,
    share_inside,
)
from app.figures.overlays import map_overlay_figure
from app.figures.plot_images import EncodedPicture, encoded, picture_size
from app.segmentation.scenes import CLASSES
from app.training.fashion_mnist import DatasetMissing
from app.vit.figures import patch_grid_picture
from components.clicked_cell import clicked_cell
from components.detection_work import detection_scenes, detr_capture, tiny_capture, tiny_detr
from components.drawn_figures import drawn
from components.figure_export import chart_config
from components.image_picker import current_image
from components.lazy_tabs import draw_open, lazy_tabs
from components.weights_download import shown_model

GARMENTS = CLASSES[1:]  # the small DETR's classes: Fashion-MNIST's ten
SCENE_SIDE = 448  # a 64 px scene drawn 7 times larger

st.title("DETR: detection as a set")
st.caption("Carion et al. (2020): a CNN's feature map, read as tokens by a transformer encoder; a fixed number of "
           "object queries that each answer one box and one class (or \"no object\"), trained by matching the "
           "answers one-to-one to the true boxes.")

image = current_image()
network = st.radio("Network", ["tiny", "resnet50"], horizontal=True, key="detr_network",
                   format_func=lambda n: {"tiny": "Tiny DETR, trained here (Fashion-MNIST scenes)",
                                          "resnet50": "DETR ResNet-50 (COCO), on your image"}[n])


def tiny_subject():
    """(capture, picture as an array, the same to draw on, class names, true boxes and classes or None,
    trained, threshold default)."""
    shipped = tiny_detr()
    if shipped.trained:
        st.caption(f"0.6 M parameters, trained by this project in {shipped.minutes:.0f} min on two CPU cores; "
                   f"mAP@0.5 {shipped.map50:.2f} on 1,000 test scenes (its card: "
                   "pretrained/checkpoints/tiny_detr_fmnist.md).")
    else:
        st.error(f"**UNTRAINED WEIGHTS — the small DETR has random weights.** Its boxes and classes mean nothing. "
                 f"Why: {shipped.problem}", icon=":material/warning:")
    scenes = detection_scenes("test")
    index = st.number_input("Test scene", 0, len(scenes) - 1, 0, key="detr_scene",
                            help="Scenes built from Fashion-MNIST's test images: one to three garments whose boxes "
                                 "are known by construction.")
    capture = tiny_capture("test", index)
    picture, shown = scene_picture(scenes, "test", index)
    truth = scenes.boxes[index] * SCENE_SIDE / 64
    return capture, picture, shown, GARMENTS, (truth, scenes.classes[index]), shipped.trained, 0.5


def resnet_subject():
    loaded = shown_model("detr_resnet50")
    capture, view, shown = detr_capture(loaded, image)
    st.caption(f"Your image at DETR's size, {view.shape[1]}×{view.shape[0]} px: {capture.grid[0]}×{capture.grid[1]} = "
               f"{capture.grid[0] * capture.grid[1]:,} encoder tokens (one per 32×32 px), 100 object queries.")
    return capture, view, shown, pretrained.class_names(loaded.spec), None, loaded.weights.trained, 0.7


def query_label(query: int, cls: int, score: float, names, trained: bool) -> str:
    return f"query {query}: {names[cls]} {score:.0%}" if trained else f"query {query}"


def scene_picture(scenes, split: str, index: int) -> tuple[np.ndarray, EncodedPicture]:
    """A 64 px grey scene as RGB, 7 times larger, and the same PNG-encoded: made once per server
    (both figures of a view draw on it; encoding cost more than the small DETR's forward)."""
    def build():
        scene = scenes.images[index]
        picture = np.repeat(np.repeat(np.repeat(scene[..., None], 3, axis=2), 7, axis=0), 7, axis=1)
        return picture, encoded(picture)

    return drawn(("detr", "scene", split, index), build)


def boxes_and_queries(capture, _view, picture, names, truth, trained, default_threshold):
    height, width = picture_size(picture)
    queries, classes, scores = ranked_queries(capture)
    threshold = st.slider("Show the queries whose likeliest class has at least", 0.05, 0.95, default_threshold,
                          0.05, key=f"detr_threshold_{network}", disabled=not trained)
    shown = scores >= threshold if trained else np.arange(len(queries)) < 5
    boxes = boxes_in_pixels(capture, queries[shown], height, width)
    labels = [query_label(q, c, s, names, trained) for q, c, s in zip(queries[shown], classes[shown], scores[shown])]
    left, right = st.columns(2)
    left.plotly_chart(detections_figure(picture, boxes, labels, None if truth is None else truth[0], height=460),
                      width="stretch", key="detr_boxes", config=chart_config())
    others = int((~shown).sum())
    nothing = answering_no_object(capture, queries[~shown])
    said = (f"{int(shown.sum())} of {len(queries)} queries reach {threshold:.0%}; of the other {others}, {nothing} "
            "answer \"no object\" most likely." if trained else
            f"Untrained: the classes are hidden and the five likeliest queries' boxes are drawn; the most confident "
            f"query gives its likeliest class {scores[0]:.1%} (all {capture.probabilities.shape[1]} answers alike "
            f"would be {1 / capture.probabilities.shape[1]:.1%}).")
    if truth is not None and trained:
        said += (f" Dashed: the {len(truth[0])} true boxes; {found(boxes, classes[shown], truth[0], truth[1])} of them "
                 "are found (a shown box of their class with IoU ≥ 0.5).")
    left.caption(said)
    options = [int(q) for q in queries[: max(5, int(shown.sum()))]]
    query = right.selectbox("Object query", options, key=f"detr_query_{network}",
                            format_func=lambda q: query_label(q, int(classes[list(queries).index(q)]),
                                                              float(scores[list(queries).index(q)]), names, trained))
    box = boxes_in_pixels(capture, np.array([query]), height, width)[0]
    where = capture.query_map(query)
    right.plotly_chart(map_overlay_figure(picture, where, 0.75, "Inferno", (0.0, float(where.max())), height=460,
                                          box=tuple(box), box_label=f"query {query}", value_label="share", fade=True,
                                          tickformat=".2~%", title=f"Where query {query} looked (last decoder layer)"),
                       width="stretch", key="detr_query_map", config=chart_config())
    inside, area = share_inside(where, box, height, width)
    right.caption(f"Its cross-attention over the {capture.grid[0]}×{capture.grid[1]} encoder tokens, heads averaged: "
                  f"{inside:.0%} of it falls on the tokens inside its own box, which hold {area:.0%} of the image.")


def encoder_attention(capture, view, picture, *_):
    click_key = f"detr_click_{network}"
    row, col = clicked_cell(click_key, capture.grid)
    left, right = st.columns(2)
    with left:
        streamlit_image_coordinates(patch_grid_picture(view, capture.grid, (row, col), side=min(900, view.shape[1])),
                                    key=click_key, width="stretch", cursor="crosshair")
        st.caption(f"Token ({row}, {col}) is framed; click another.")
    values = capture.token_map(row, col)
    right.plotly_chart(map_overlay_figure(picture, values, 0.75, "Inferno", (0.0, float(values.max())), height=460,
                                          value_label="share", fade=True, tickformat=".2~%",
                                          title=f"Where token ({row}, {col}) looked (last encoder layer)"),
                       width="stretch", key="detr_encoder_map", config=chart_config())
    rows, cols = np.ogrid[: capture.grid[0], : capture.grid[1]]
    near = (np.abs(rows - row) <= 1) & (np.abs(cols - col) <= 1)
    right.caption(f"Heads averaged. {float(values.numpy()[near].sum()):.1%} of its attention stays within one token of "
                  f"itself ({int(near.sum())} of the {values.numel()} tokens); its strongest: token "
                  f"{tuple(int(v) for v in np.unravel_index(int(values.argmax()), capture.grid))}.")


def matching():
    st.caption("Training compares the queries' answers with the true boxes through a one-to-one matching: the "
               "Hungarian algorithm picks the assignment whose total cost is least, where giving target j to query i "
               "costs −p_i(class_j) + 5·L1(box_i, box_j) − 2·GIoU(box_i, box_j) (DETR's weights). Shown with the "
               "small DETR on a scene of its first training batch.")
    shipped = tiny_detr()
    scenes = detection_scenes("train")
    index = st.number_input("Training scene (step 0's batch)", 0, len(scenes) - 1, 0, key="detr_train_scene")
    capture = tiny_capture("train", index)
    target_classes, targets = scenes.targets(index)
    costs = matching_costs(capture.probabilities, capture.boxes, target_classes, targets)
    rows, cols = hungarian_match(costs)
    names = [GARMENTS[int(c)] for c in target_classes]
    _, picture = scene_picture(scenes, "train", index)
    left, right = st.columns(2)
    boxes = boxes_in_pixels(capture, rows, SCENE_SIDE, SCENE_SIDE)
    left.plotly_chart(detections_figure(picture, boxes, [f"query {q} → target {t}" for q, t in zip(rows, cols)],
                                        scenes.boxes[index] * SCENE_SIDE / 64, height=460),
                      width="stretch", key="detr_matched", config=chart_config())
    left.caption("Dashed: the true boxes (targets, numbered as the columns); solid: the query matched to each.")
    right.plotly_chart(cost_matrix_figure(costs.total, rows, cols, names, height=460), width="stretch",
                       key="detr_costs", config=chart_config())
    right.caption(f"Total cost {costs.of((rows, cols)):.2f}; letting each target in turn take its cheapest free query "
                  f"would cost {greedy_total(costs.total):.2f}. The {capture.probabilities.shape[0] - len(rows)} "
                  "unmatched queries learn \"no object\".")
    st.dataframe([{"target": f"{j}: {names[j]}", "query": int(i), "−p(class)": round(float(costs.classes[i, j]), 3),
                   "L1 of the boxes": round(float(costs.boxes[i, j]), 3), "−GIoU": round(float(costs.giou[i, j]), 3),
                   "cost": round(float(costs.total[i, j]), 3)} for i, j in zip(rows, cols)], hide_index=True)
    if not shipped.trained:
        st.caption("With random weights every query's class probabilities are about equal: the boxes decide.")


def shown_subject():
    try:
        return tiny_subject() if network == "tiny" else resnet_subject()
    except DatasetMissing as missing:
        st.warning(str(missing))
        st.stop()


tabs = lazy_tabs(["Boxes and object queries", "Encoder attention", "Bipartite matching"], "detr_tab",
                 {"Boxes and object queries": ("detr_threshold_", "detr_query_"),
                  "Encoder attention": ("detr_click_",), "Bipartite matching": ("detr_train_scene",)})
draw_open(tabs, [lambda: boxes_and_queries(*shown_subject()), lambda: encoder_attention(*shown_subject()), matching])
