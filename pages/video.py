"""Video: a clip, and why temporal modelling is needed at all."""

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from app.preprocess import model_view
from app.video.attention_schemes import (
    PATCH,
    SCHEMES,
    SHORT,
    TIMESFORMER_VIEW,
    attention_pairs,
    keys_per_query,
    neighbourhood,
)
from app.video.decode import describe
from app.video.figures import accuracy_figure, frames_figure, schemes_figure
from app.video.moving_fashion import CLASSES, FRAMES, SIDE, clip_view, view_indices
from app.video.samples import CLIP_SAMPLES
from app.vit.figures import patch_at, patch_grid_picture
from components.clip_picker import clip_picker
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.lazy_tabs import lazy_tabs
from components.video_work import motion_model, motion_probabilities
from pretrained.motion_models import SHIPPED

IDEAS = {
    "frame_cnn": "the middle frame",
    "c3d": "3×3×3 filters",
    "two_stream": "frame + differences",
    "slowfast": "every 4th + every frame",
    "divided_st": "time, then space",
}

st.title("Video")
st.caption("A video model must see time: 3D CNNs extend filters over frames (temporal coherence), the two-stream "
           "network adds a motion pathway beside the appearance one, SlowFast pairs a slow pathway for what is there "
           "with a fast one for how it moves, and TimeSformer attends across space and time.")

def time_matters(clip):
    """The five trained networks: their test accuracies, and each one's answer on the clip."""
    st.markdown(f"**Trained by this project** on Moving Fashion-MNIST: a garment moving one of eight ways or turning "
                f"one of two, over {FRAMES} frames of {SIDE}×{SIDE}. The class is the motion, and the garment's place "
                "and angle half-way through are drawn alike for every class, so one frame cannot tell it.")
    keys = list(SHIPPED)
    accuracies = [motion_model(key)[1] for key in keys]
    chance = 1 / len(CLASSES)
    st.plotly_chart(accuracy_figure([SHIPPED[k].title for k in keys], accuracies, chance), width="stretch",
                    key="video_accuracies", config=chart_config())
    temporal = {k: a for k, a in zip(keys, accuracies) if k != "frame_cnn"}
    worst = min(temporal, key=temporal.get)
    st.caption(f"The 2D CNN sees only the middle frame and scores {accuracies[0]:.1%} on the test clips, against "
               f"{chance:.0%} by chance. Every network that sees the frames together scores at least "
               f"{temporal[worst]:.1%} ({SHIPPED[worst].title}).")

    view = clip_view(clip.frames)
    st.plotly_chart(frames_figure(np.repeat(view[..., None], 3, axis=-1), clip.times[view_indices(len(clip.frames))]),
                    width="stretch", key="video_clip_view", config=chart_config(PICTURE_TOOLBAR))
    if clip.name != CLIP_SAMPLES["garment"]:
        st.info(f"Your clip as these networks take it: {FRAMES} frames, grey, the centre square shrunk to "
                f"{SIDE}×{SIDE}. "
                "They only know a garment moving on black, so their answers say more about the models than about your "
                "clip.")
    rows = []
    for key, accuracy in zip(keys, accuracies):
        probabilities = motion_probabilities(key, view)
        best = int(np.argmax(probabilities))
        rows.append({"Network": SHIPPED[key].title, "Sees": IDEAS[key], "Test accuracy": accuracy,
                     "On this clip": CLASSES[best], "Probability": float(probabilities[best])})
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(rows, hide_index=True, width="stretch", key="video_motion_table",
                 column_config={"Test accuracy": percent, "Probability": percent})


def schemes_view(clip):
    """TimeSformer's five schemes for a clicked patch, on the clip as TimeSformer takes it."""
    frames = np.stack([model_view(clip.frames[i], TIMESFORMER_VIEW) for i in view_indices(len(clip.frames))])
    grid = (TIMESFORMER_VIEW.input_size // PATCH,) * 2
    left, right = st.columns([2, 3])
    t = right.slider("Query frame", 1, len(frames), len(frames) // 2, key="video_query_frame") - 1
    clicked = st.session_state.get("video_query_click")
    row, col = (patch_at(clicked["x"], clicked["y"], clicked["width"], clicked["height"], grid) if clicked
                else (grid[0] // 2, grid[1] // 2))
    with left:
        streamlit_image_coordinates(patch_grid_picture(frames[t], grid, (row, col), side=336),
                                    key="video_query_click", width="stretch", cursor="crosshair")
    right.caption(f"Patch ({row}, {col}) of frame {t + 1} is the query; click another on the frame. Below, each "
                  "scheme's keys for it, in the query's frame and the frames on either side: blue the query, "
                  "orange, green and red the keys of the scheme's first, second and third attention step.")
    query = (t, row, col)
    neighbourhoods = {key: neighbourhood(key, len(frames), *grid, query) for key in SCHEMES}
    st.plotly_chart(schemes_figure(frames, grid, query, SHORT, neighbourhoods), width="stretch",
                    key="video_schemes", config=chart_config(PICTURE_TOOLBAR))
    joint = attention_pairs("joint", len(frames), *grid)
    rows = [{"Scheme": f"{title}", "Steps": " → ".join(neighbourhoods[key]),
             "Keys per query": keys_per_query(key, len(frames), *grid),
             "Query-key pairs per layer": attention_pairs(key, len(frames), *grid),
             "Share of joint attention": attention_pairs(key, len(frames), *grid) / joint}
            for key, title in SCHEMES.items()]
    st.dataframe(rows, hide_index=True, width="stretch", key="video_scheme_costs", column_config={
        "Keys per query": st.column_config.NumberColumn(format="%.1f"),
        "Share of joint attention": st.column_config.NumberColumn(format="percent")})
    divided = rows[2]
    st.caption(f"At this clip's {len(frames)} frames of {grid[0]}×{grid[1]} patches (TimeSformer's 224 px input, "
               f"16 px patches), joint attention scores {joint:,} pairs a layer; divided attention "
               f"{divided['Query-key pairs per layer']:,}, {joint / divided['Query-key pairs per layer']:.1f}× fewer. "
               "The paper found divided attention the most accurate of the schemes it compared (Bertasius et al. "
               "2021).")


clip = clip_picker()
st.plotly_chart(frames_figure(clip.frames, clip.times), width="stretch", key="video_frames",
                config=chart_config(PICTURE_TOOLBAR))
st.text(describe(clip))  # st.text: a file's name is never read as Markdown
st.caption(f"Sampled: {clip.sampling}" + (f" over the first {clip.decoded:.1f} s" if clip.decoded < clip.duration
                                           else "") + f"; the strip shows {min(8, len(clip.frames))} of them.")
for note in clip.notes:
    st.caption(f"ⓘ {note.capitalize()}.")

tabs = lazy_tabs(["Why time matters", "TimeSformer's attention"], "video_tab",
                 {"TimeSformer's attention": ("video_query",)})
with tabs[0]:
    if tabs[0].open:
        time_matters(clip)
with tabs[1]:
    if tabs[1].open:
        schemes_view(clip)
