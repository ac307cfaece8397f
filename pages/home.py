"""Home: what the app is, the current image, a first taste offline, the model zoo, what the server holds."""

import streamlit as st

from app.figures.prediction_chart import top_k_bar_chart
from components.compute_slots import queue_table
from components.figure_export import chart_config
from components.image_picker import current_image, image_caption
from components.model_zoo import zoo_table
from components.models import loaded_model, top_predictions, untrained_banner
from components.notebook_code import top_five_code
from components.server_status import server_status

FIRST_TASTE_MODEL = "efficientnet_lite0"

st.title("Vision Explorer")
st.markdown(
    "Look inside real vision models on **your own picture**: what each layer of a CNN responds to, "
    "where a Vision Transformer or DINO attends, how Swin's shifted windows cut the image, how "
    "optimizers race across loss surfaces, and how batch norm, dropout and augmentation change "
    "a training curve. Pick or upload a picture in the sidebar; every page uses it."
)

image = current_image()
left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Your image")
    st.image(image.rgb, width="stretch")
    st.text(image_caption(image))  # plain text: a file's name is never read as Markdown
with right:
    loaded = loaded_model(FIRST_TASTE_MODEL)
    st.subheader(f"What {loaded.spec.title} sees")
    if not untrained_banner(loaded):
        predictions = top_predictions(loaded, image)
        st.plotly_chart(top_k_bar_chart(predictions), width="stretch", key="home_top5", config=chart_config())
        st.caption(
            f"Top-5 of 1,000 ImageNet classes. {loaded.spec.title} ({loaded.spec.num_params / 1e6:.1f} M "
            f"parameters) sees a {loaded.spec.preprocessing.input_size}² centre crop; weights from "
            f"{loaded.spec.weights.source_note}, checked against their SHA-256."
        )
        with st.expander("This chart in a notebook (Python)", icon=":material/code:"):
            st.code(top_five_code(loaded, image), language="python", wrap_lines=True)

st.subheader("Model zoo")
zoo_table()

st.subheader("This server")
st.caption(server_status())
queue_table()
