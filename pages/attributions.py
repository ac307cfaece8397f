"""Attributions: which pixels made the CNN choose a class, four ways, side by side."""

import streamlit as st
import torch

import pretrained
from app import attributions
from app.attribution_figures import attribution_figure, deletion_figure
from components.attribution_runs import deletion, fast_attribution, run_slow_attribution, slow_attribution
from components.cnn_capture import inspect_image
from components.image_picker import current_image
from components.model_picker import model_picker

st.title("Attributions")
st.caption("Captum's methods for one class of your image. Gradients flow only to the input or the Grad-CAM "
           "layer; the shared model's weights are never touched.")

image = current_image()
loaded = model_picker(("cnn",), default="efficientnet_lite0")
inspection = inspect_image(loaded, image)
names = pretrained.class_names(loaded.spec)
probabilities = torch.softmax(inspection.capture.logits, dim=0)
ranked = torch.argsort(probabilities, descending=True).tolist()
target = st.selectbox("Explain the class", ranked, key=f"target_{image.sha256}_{loaded.spec.name}",
                      format_func=lambda i: f"{names[i]} · {probabilities[i]:.1%}",
                      help="Sorted by the model's probability; the first is its top-1 choice.")
opacity = st.slider("Opacity", 0.0, 1.0, 0.55, 0.05, key="attr_opacity")

with st.expander("Settings for the slow methods"):
    left, right = st.columns(2)
    n_steps = left.slider("Integrated Gradients: steps", 8, 128, 32, 8, key="ig_steps")
    ig_batch = left.select_slider("… images per forward pass", [1, 2, 4, 8, 16, 32], 8, key="ig_batch")
    size = inspection.view.shape[0]
    window = right.slider("Occlusion: window (px)", 4, size, 32, 4, key="occ_window")
    stride = right.slider("… stride (px)", 2, size, 16, 2, key="occ_stride")
    forwards = attributions.occlusion_forward_count(size, window, stride, 8) if stride <= window else 0
    right.caption(f"{forwards} forward passes of 8 images" if forwards else "The stride must not exceed the window.")

maps = {
    "Grad-CAM": fast_attribution("Grad-CAM", loaded, image.sha256, target, inspection),
    "Saliency": fast_attribution("Saliency", loaded, image.sha256, target, inspection),
}
slow = {
    "Integrated Gradients": ((n_steps, ig_batch), lambda progress: attributions.integrated_gradients(
        loaded.model, inspection.batch, target, n_steps, ig_batch, progress)),
    "Occlusion": ((window, stride), lambda progress: attributions.occlusion(
        loaded.model, inspection.batch, target, window, stride, progress=progress)),
}
captions = {
    "Grad-CAM": f"at {loaded.spec.cam_layer}, upsampled; ReLU applied",
    "Saliency": "max |∂score/∂pixel| over colours",
    "Integrated Gradients": f"{n_steps} steps from the mean-colour image; red for, blue against",
    "Occlusion": f"{window} px grey window, stride {stride}; red: covering it lowers the score",
}
cells = [cell for _ in range(2) for cell in st.columns(2)]
for column, method in zip(cells, captions):
    with column:
        st.markdown(f"**{method}**")
        if method in slow:
            settings, compute = slow[method]
            result = slow_attribution(method, settings, loaded, image.sha256, target)
            if result is None and st.button(f"Run {method}", key=f"run_{method}"):
                try:
                    result = run_slow_attribution(method, settings, loaded, image.sha256, target, compute)
                except ValueError as exc:
                    st.error(str(exc))
            if result is None:
                st.caption("Slower: press Run.")
                continue
            maps[method] = result
        st.plotly_chart(attribution_figure(inspection.view, maps[method], method in attributions.SIGNED_METHODS,
                                           opacity), width="stretch", key=f"map_{method}")
        st.caption(captions[method])

st.subheader("Deletion curves")
curves = {method: deletion(method, attribution, loaded, image.sha256, target, inspection)
          for method, attribution in maps.items()}
curves["random order"] = deletion("random", None, loaded, image.sha256, target, inspection)
st.plotly_chart(deletion_figure(curves, names[target]), width="stretch", key="deletion")
st.caption("8×8 px squares are replaced by a blurred copy of the image, most attributed first; the curve is the "
           "model's probability for the class. A faithful map makes it fall fast. When the object fills the picture, "
           "removing anything hurts and a random order can do well: compare the methods with each other.")
