"""Attributions: which pixels made the CNN choose a class, four ways side by side; how faithful each is."""

from collections.abc import Callable

import streamlit as st
import torch

import pretrained
from app.attribution import methods as attributions
from app.attribution.faithfulness_table import faithfulness_rows, faithfulness_verdict
from app.attribution.figures import attribution_figure, faithfulness_figure
from app.attribution.sanity_check import map_similarity
from components.attribution_work import (
    faithfulness_of,
    fast_attributions,
    randomised_maps,
    randomised_twin,
    run_slow_attribution,
    slow_attribution,
    subject,
)
from components.cnn_capture import inspect_image
from components.deferred_work import leave_subject, live_section, result_or_progress
from components.figure_export import chart_config
from components.image_picker import current_image
from components.model_picker import model_picker
from components.notebook_code import attribution_code

st.title("Attributions")
st.caption("Captum's methods for one class of your image. Gradients flow only to the input or the Grad-CAM "
           "layer; the shared model's weights are never touched.")

image = current_image()
loaded = model_picker(("cnn",), default="efficientnet_lite0")
trained = loaded.weights.trained
inspection = inspect_image(loaded, image)
names = pretrained.class_names(loaded.spec)
if trained:
    probabilities = torch.softmax(inspection.capture.logits, dim=0)
    target = st.selectbox("Explain the class", torch.argsort(probabilities, descending=True).tolist(),
                          key=f"target_{image.sha256}_{loaded.spec.name}",
                          format_func=lambda i: f"{names[i]} · {probabilities[i]:.1%}",
                          help="Sorted by the model's probability; the first is its top-1 choice.")
else:  # random weights: their ranking and probabilities mean nothing, and predictions stay hidden
    target = st.selectbox("Explain the class", range(len(names)),
                          key=f"target_{image.sha256}_{loaded.spec.name}",
                          format_func=lambda i: f"{i}: {names[i]}", help="In class-index order.")
# The checks' work on the previous image, model or class stops before this one's maps are computed.
leave_subject("checks", subject(loaded, image.sha256, target))
opacity = st.slider("Opacity", 0.0, 1.0, 0.55, 0.05, key="attr_opacity")

with st.expander("Settings for the slow methods"):
    left, right = st.columns(2)
    n_steps = left.slider("Integrated Gradients: steps", 8, 128, 32, 8, key="ig_steps")
    ig_batch = left.select_slider("… images per forward pass", [1, 2, 4, 8, 16, 32], 8, key="ig_batch")
    size = inspection.view.shape[0]
    largest = attributions.largest_occlusion_window(size)
    window = right.slider("Occlusion: window (px)", 4, largest, min(32, largest), 4, key="occ_window",
                          help=f"At most half the {size} px input, so that it takes several positions.")
    stride = right.slider("… stride (px)", 2, largest, 16, 2, key="occ_stride")
    forwards = attributions.occlusion_forward_count(size, window, stride, 8) if stride <= window else 0
    right.caption(f"{forwards} forward passes of 8 images" if forwards
                  else "The stride must not exceed the window.")


def slow_compute(method: str, model: Callable[[], torch.nn.Module]):
    if method == "Integrated Gradients":
        return lambda progress: attributions.integrated_gradients(model(), inspection.batch, target, n_steps,
                                                                  ig_batch, progress)
    return lambda progress: attributions.occlusion(model(), inspection.batch, target, window, stride,
                                                   progress=progress)


def slow_map(label: str, method: str, model: Callable[[], torch.nn.Module]):
    """The slow method's map if computed in this session; else a Run button (and None)."""
    settings = (n_steps, ig_batch) if method == "Integrated Gradients" else (window, stride)
    result = slow_attribution(label, settings, loaded, image.sha256, target)
    button = st.empty()  # emptied once pressed, so a finished method shows no stale button
    if result is None and button.button(f"Run {label}", key=f"run_{label}"):
        button.empty()
        try:
            result = run_slow_attribution(label, settings, loaded, image.sha256, target,
                                          slow_compute(method, model))
        except ValueError as exc:
            st.error(str(exc))
    if result is None:
        st.caption("Slower: press Run.")
    return result


FAST = ("Grad-CAM", "Saliency")
captions = {
    "Grad-CAM": f"at {loaded.spec.cam_layer}, upsampled; ReLU applied",
    "Saliency": "max |∂score/∂pixel| over colours",
    "Integrated Gradients": f"{n_steps} steps from the mean-colour image; red for, blue against",
    "Occlusion": f"{window} px grey window, stride {stride}; red: covering it lowers the score",
}
fast_maps = fast_attributions(loaded, image.sha256, target, inspection)
maps = {}
for column, method in zip([cell for _ in range(2) for cell in st.columns(2)], captions):
    with column:
        st.markdown(f"**{method}**")
        attribution = fast_maps[method] if method in FAST else slow_map(method, method, lambda: loaded.model)
        if attribution is None:
            continue
        maps[method] = attribution
        signed = method in attributions.SIGNED_METHODS
        st.plotly_chart(attribution_figure(inspection.view, attribution, signed, opacity), width="stretch",
                        key=f"map_{method}", config=chart_config())
        st.caption(captions[method])
if maps:
    with st.expander("These maps in a notebook (Python)", icon=":material/code:"):
        slow_settings = {"Integrated Gradients": (n_steps, ig_batch), "Occlusion": (window, stride)}
        for tab, method in zip(st.tabs(list(maps)), maps):
            tab.code(attribution_code(loaded, image, target, names[target], method, slow_settings.get(method, ()),
                                      opacity), language="python", wrap_lines=True)

def sanity_check() -> dict:
    """The random-weights twin's maps beside the trained ones; returns their similarities."""
    similarities = {}
    st.caption("Adebayo et al. (2018) explain the same image with the same architecture whose weights are "
               "random. A map that explains what the network learned must change a lot; one that barely "
               "changes mostly shows the image's edges. Here every layer is randomised at once (the paper's "
               "full randomisation; its cascading version randomises from the top layer down). ρ: Spearman's "
               "rank correlation of the two maps; SSIM: their structural similarity. Near 0: the map depends "
               "on the weights.")
    fast = result_or_progress(randomised_maps(loaded, image.sha256, target, inspection),
                              "Grad-CAM and Saliency of the random-weights twin:")
    for column, method in zip(st.columns(len(maps) or 1), maps):
        with column:
            st.markdown(f"**{method}**")  # the heading above says: random weights
            if method in FAST:
                randomised = fast[method] if fast is not None else None
            else:
                randomised = slow_map(f"{method} · random weights", method, lambda: randomised_twin(loaded))
            if randomised is None:
                continue
            similarities[method] = similarity = map_similarity(maps[method], randomised)
            signed = method in attributions.SIGNED_METHODS
            st.plotly_chart(attribution_figure(inspection.view, randomised, signed, opacity, height=330,
                                               colorbar_below=True),
                            width="stretch", key=f"random_map_{method}", config=chart_config())
            st.caption(f"ρ = {similarity.spearman:.2f}, SSIM = {similarity.ssim:.2f}" if similarity.comparable
                       else f"SSIM = {similarity.ssim:.2f}; a constant map has no ranks, so no ρ.")
    return similarities


def faithfulness_section(similarities: dict):
    results = result_or_progress(faithfulness_of(maps, loaded, image.sha256, target, inspection),
                                 "Deletion and insertion curves:")
    if results is None:
        return
    rows = faithfulness_rows(results, similarities)
    number = st.column_config.NumberColumn(format="%.3f")
    shown = [column for column in rows[0] if column != "note" or any(row["note"] for row in rows)]
    st.dataframe(rows, hide_index=True, width="stretch", key="faithfulness_table", column_order=shown,
                 column_config={"method": st.column_config.TextColumn(width="medium")}
                 | {column: number for column in shown if column not in ("method", "note")})
    st.markdown(faithfulness_verdict(rows))
    st.plotly_chart(faithfulness_figure({m: r for m, r in results.items() if r is not None}, names[target]),
                    width="stretch", key="faithfulness_curves", config=chart_config())
    st.caption("8×8 px squares are replaced by a blurred copy of the image, in the map's order; each curve is "
               "the model's probability for the class. Deletion and insertion are RISE's (Petsiuk et al. 2018); "
               "SRG, the symmetric relevance gain of Blücher et al. (2024), is the area when the least relevant "
               "squares go first minus the area when the most relevant go first (higher is better, about 0 for "
               "a random order). When the object fills the picture, removing anything hurts and a random order "
               "can do well: judge a method by all the metrics, against the random order.")


def checks():
    """Both checks poll their background work together: the table needs the similarities."""
    st.subheader("Sanity check: the same network with random weights")
    if trained:
        similarities = sanity_check()
    else:
        similarities = {}
        st.info("This model's weights are already random: the check compares a trained network with a "
                "randomised one, so it needs trained weights (EfficientNet-Lite0 has them offline).")
    st.subheader("Faithfulness on this image")
    faithfulness_section(similarities)


# Asked for first here, outside the section: it polls them from its first run.
if trained:
    randomised_maps(loaded, image.sha256, target, inspection)
faithfulness_of(maps, loaded, image.sha256, target, inspection)
live_section("checks", checks)
