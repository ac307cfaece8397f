"""Video: a clip, why temporal modelling is needed at all, and what each design looks at."""

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

import pretrained
from app.figures.plot_images import labelled_tiles
from app.figures.prediction_chart import top_k_bar_chart
from app.predictions import top_k
from app.preprocess import model_view
from app.video.action_figures import (
    cam_frames,
    field_frames,
    frame_share_figure,
    time_mosaic,
    time_mosaic_figure,
)
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
from app.video.divided_attention import attention_figure, query_attention, query_on_model_grid
from app.video.figures import accuracy_figure, frames_figure, schemes_figure
from app.video.moving_fashion import CLASSES, FRAMES, SIDE, clip_input, clip_view, view_indices
from app.video.samples import CLIP_SAMPLES
from app.video.slowfast_sampling import channel_width, relative_cost, sampling, timeline_figure
from app.video.space_time import kinetics_accuracy
from app.video.two_stream_input import frame_differences, grey_frames, motion_picture, raft_flow
from app.vit.figures import patch_grid_picture
from components.capture_cache import captured, captured_in_background
from components.clicked_cell import clicked_cell
from components.clip_picker import clip_picker
from components.drawn_figures import drawn
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.lazy_tabs import draw_open, lazy_tabs
from components.models import loaded_model, model_key
from components.notebook_code import space_time_cam_code
from components.video_networks import NETWORK_FRAMES, clip_grad_cam, inspect_clip
from components.video_work import motion_model, motion_probabilities
from components.weights_download import download_button, shown_model
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
    strip = drawn(("video", "motion networks' view", clip.sha256), lambda: frames_figure(
        np.repeat(view[..., None], 3, axis=-1), clip.times[view_indices(len(clip.frames))]))
    st.plotly_chart(strip, width="stretch", key="video_clip_view", config=chart_config(PICTURE_TOOLBAR))
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
    row, col = clicked_cell("video_query_click", grid)
    with left:
        streamlit_image_coordinates(patch_grid_picture(frames[t], grid, (row, col), side=336),
                                    key="video_query_click", width="stretch", cursor="crosshair")
    right.caption(f"Patch ({row}, {col}) of frame {t + 1} is the query; click another on the frame. Below, each "
                  "scheme's keys for it, in the query's frame and the frames on either side: blue the query, "
                  "orange, green and red the keys of the scheme's first, second and third attention step.")
    query = (t, row, col)
    neighbourhoods = {key: neighbourhood(key, len(frames), *grid, query) for key in SCHEMES}
    figure = drawn(("video", "schemes", clip.sha256, query),
                   lambda: schemes_figure(frames, grid, query, SHORT, neighbourhoods))
    st.plotly_chart(figure, width="stretch",
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
    divided_attention_view(clip, query, len(frames), grid)


def divided_attention_view(clip, query, frames, grid):
    """The tiny divided space-time network's own attention for the clicked patch."""
    model = motion_model("divided_st")[0]
    view = clip_view(clip.frames)
    model_grid = (SIDE // model.patch,) * 2
    on_model = query_on_model_grid(query, frames, grid, FRAMES, model_grid)
    weights = captured(("divided attention", clip.sha256, on_model),
                       lambda: query_attention(model, clip_input(view[None]), on_model))
    st.markdown("**The divided space-time network this project trained, on this clip** (its last block)")
    figure = drawn(("video", "divided attention", clip.sha256, on_model),
                   lambda: attention_figure(view, weights.time, weights.space, on_model))
    st.plotly_chart(figure, width="stretch",
                    key="video_divided_attention", config=chart_config(PICTURE_TOOLBAR))
    t, row, col = on_model
    strongest = np.unravel_index(int(np.argmax(weights.space)), weights.space.shape)
    st.caption(f"It sees {FRAMES} grey frames of {model_grid[0]}×{model_grid[1]} patches of {model.patch} px; the "
               f"clicked patch is its patch ({row}, {col}) of frame {t + 1}. In time it attends to the same place in "
               f"every frame, most to frame {int(np.argmax(weights.time)) + 1} ({weights.time.max():.0%}); in space "
               f"to every patch of its frame, most to ({strongest[0]}, {strongest[1]}) ({weights.space.max():.0%}). "
               "Averaged over its heads.")


def two_streams_view(clip):
    """The appearance stream's frame beside the motion stream's input: RAFT's flow where its
    weights are here, the frame differences the project's two-stream network reads otherwise."""
    st.markdown("**Two streams** (Simonyan & Zisserman 2014): a spatial stream sees one frame (what is there), a "
                "temporal stream sees motion (where things go).")
    pair = st.slider("Frame pair", 1, len(clip.frames) - 1, len(clip.frames) // 2, key="video_pair",
                     help="the motion between this frame and the next") - 1
    raft = pretrained.get_spec("raft_small")
    status = pretrained.weights_status(raft)
    frames = clip.frames[pair: pair + 2]
    if status.is_here:
        loaded = loaded_model(raft.name)
        key = ("raft flow", clip.sha256, pair, *model_key(loaded))

        def compute():
            return raft_flow(loaded.model, frames[0], frames[1])

        captured_in_background(key, compute, "RAFT's optical flow")
        flow = captured(key, compute)
        motion, what = motion_picture(flow), "optical flow from RAFT (colour: direction, strength: speed)"
        speed = np.hypot(*flow)
        said = (f"Between frames {pair + 1} and {pair + 2}, at RAFT's {flow.shape[2]}×{flow.shape[1]} px, the median "
                f"pixel moves {np.median(speed):.1f} px and the fastest {speed.max():.1f} px.")
    else:
        difference = frame_differences(frames)[0]
        bound = float(np.abs(difference).max()) or 1.0
        motion, what = motion_picture(difference, bound), "the difference of the two frames (red brighter, blue darker)"
        grey = grey_frames(frames).astype(np.int16)  # the grey the difference picture is made of
        said = (f"{(np.abs(grey[1] - grey[0]) > 10).mean():.1%} of the pixels change by more than 10 grey levels "
                "between frames "
                f"{pair + 1} and {pair + 2}.")
    left, right = st.columns(2)
    left.image(frames[0], caption=f"Appearance: frame {pair + 1} ({clip.times[pair]:.2f} s)", width="stretch")
    right.image(motion, caption=f"Motion: {what}", width="stretch")
    if not status.is_here:
        st.caption(f"{said} RAFT's weights are not on this server, so the motion stream shows frame differences, "
                   "the motion input of the two-stream network this project trained (the original stacks optical "
                   "flow).")
        if status is pretrained.WeightsStatus.DOWNLOADABLE:
            download_button(raft)
    else:
        st.caption(said)


def slowfast_view(clip):
    """SlowFast's two samplings of this clip, for a chosen α and β."""
    st.markdown("**SlowFast** (Feichtenhofer et al. 2019): a slow pathway at a low frame rate for what is there, a "
                "fast one at α times the frame rate, with β times the channels, for how it moves.")
    left, right = st.columns(2)
    alpha = left.select_slider("α (frame-rate ratio)", [2, 4, 8], 8, key="video_alpha")
    beta = right.select_slider("β (channel ratio)", [1 / 2, 1 / 4, 1 / 8, 1 / 16], 1 / 8, key="video_beta",
                               format_func=lambda b: f"1/{round(1 / b)}")
    taken = sampling(clip.times, alpha)
    figure = drawn(("video", "slowfast", clip.sha256, alpha, beta),
                   lambda: timeline_figure(clip.times, alpha, beta, clip.frames))
    st.plotly_chart(figure, width="stretch", key="video_slowfast", config=chart_config())
    gap = float(np.diff(clip.times[taken.slow]).mean()) if len(taken.slow) > 1 else clip.decoded
    cost = relative_cost(alpha, beta)
    st.caption(f"On this clip the slow pathway takes {len(taken.slow)} of its {len(clip.frames)} frames, "
               f"{gap:.2f} s apart; the fast one takes all {len(taken.fast)} with {channel_width(beta)} channels. For "
               f"the same convolution the fast pathway costs α·β² = {cost:.3g} of the slow pathway's multiply-adds. "
               "The paper's networks (α = 8, β = 1/8) spend about 20% of their computation on the fast pathway.")


def streams_and_sampling(clip):
    two_streams_view(clip)
    slowfast_view(clip)


def kinetics_view(clip):
    """A torchvision network trained on Kinetics-400 on the clip: its top-5 actions, its maps across
    time, what one unit reads, and Grad-CAM over the frames."""
    specs = {spec.name: spec for spec in pretrained.list_specs("video")}
    name = st.radio("Network", list(specs), format_func=lambda n: specs[n].title, horizontal=True,
                    key="video_network")
    loaded = shown_model(name)
    spec = loaded.spec
    top1, top5 = kinetics_accuracy(spec.architecture)
    size = spec.preprocessing.input_size
    st.caption(f"{spec.summary} It takes the clip's {NETWORK_FRAMES} frames at {size}×{size} px; its weights score "
               f"{top1:.1f}% top-1 and {top5:.1f}% top-5 on Kinetics-400 (torchvision, on "
               f"{spec.preprocessing.frames}-frame clips).")
    inspection = inspect_clip(loaded, clip)
    views = lazy_tabs(["Top-5 actions", "Maps across time", "Receptive field", "Grad-CAM"], "video_kinetics",
                      {"Maps across time": ("video_layer",), "Receptive field": ("video_unit",),
                       "Grad-CAM": ("video_cam",)})
    draw_open(views, [lambda: actions_view(loaded, inspection),
                      lambda: maps_across_time(loaded, clip, inspection),
                      lambda: field_view(loaded, clip, inspection),
                      lambda: kinetics_cam_view(loaded, clip, inspection)])


def actions_view(loaded, inspection):
    if not loaded.weights.trained:
        st.info("Actions are hidden: with random weights the network's 400 scores name nothing.")
        return
    predictions = top_k(inspection.capture.logits, pretrained.class_names(loaded.spec))
    st.plotly_chart(top_k_bar_chart(predictions), width="stretch", key="video_actions", config=chart_config())


def _steps_to_frames(steps: int) -> list[str]:
    """Which of the network's frames each of a layer's time steps stands for."""
    per = NETWORK_FRAMES / steps
    return [f"frame {round(i * per) + 1}" if per <= 1 else f"frames {round(i * per) + 1}–{round((i + 1) * per)}"
            for i in range(steps)]


def maps_across_time(loaded, clip, inspection):
    names = [info.name for info in inspection.layers]
    layer = st.select_slider("Layer", names, names[len(names) // 2], key="video_layer",
                             format_func=lambda n: inspection.layer(n).describe())
    maps = inspection.capture.maps[layer]
    channels, steps = maps.shape[0], maps.shape[1]
    strongest = np.argsort(-maps.mean(dim=(1, 2, 3)).numpy())[:6].tolist()
    figure = drawn(("video", "time mosaic", clip.sha256, *model_key(loaded), layer), lambda: time_mosaic_figure(
        time_mosaic(maps, strongest), strongest, steps, _steps_to_frames(steps)))
    st.plotly_chart(figure, width="stretch",
                    key="video_time_mosaic", config=chart_config(PICTURE_TOOLBAR))
    means = maps[strongest].mean(dim=(2, 3)).numpy()  # (6, steps)
    changing = int(np.argmax(means.max(axis=1) - means.min(axis=1)))
    st.caption(f"{layer} has {channels} channels over {steps} time steps (the clip's {NETWORK_FRAMES} frames "
               f"{'kept' if steps == NETWORK_FRAMES else f'pooled {NETWORK_FRAMES // steps} to a step'}). The six "
               "rows are its most active channels on this clip, each on its own scale across time. Channel "
               f"{strongest[changing]} changes most from step to step: its mean goes from {means[changing].min():.2f} "
               f"to {means[changing].max():.2f}.")


def field_view(loaded, clip, inspection):
    names = [info.name for info in inspection.layers]
    # The first stage by default: its field spans a few frames, so the box's extent in time shows.
    layer = st.select_slider("Layer", names, names[1], key="video_unit_layer",
                             format_func=lambda n: inspection.layer(n).describe())
    info = inspection.layer(layer)
    if info.field is None:
        st.info(f"{loaded.spec.title} mixes its patches by attention: how far a unit sees is set by the attention "
                "windows, not by kernel sizes, so no box is traced for it. Choose a convolutional network (R3D-18, "
                "MC3-18, R(2+1)D-18, S3D).")
        return
    _, steps, rows, cols = info.shape
    a, b, c = st.columns(3)
    t = a.slider("Time step", 1, steps, steps // 2 + 1, key="video_unit_t") - 1
    row = b.slider("Row", 1, rows, rows // 2 + 1, key="video_unit_row") - 1
    col = c.slider("Column", 1, cols, cols // 2 + 1, key="video_unit_col") - 1
    size = inspection.view.shape[1]
    box = info.field.box(t, row, col, NETWORK_FRAMES, size)
    (t0, t1), (y0, y1), (x0, x1) = box
    numbers = [str(i + 1) for i in range(NETWORK_FRAMES)]
    figure = drawn(("video", "field", clip.sha256, *model_key(loaded), layer, t, row, col),
                   lambda: labelled_tiles(field_frames(inspection.view, box), numbers, cols=8))
    st.plotly_chart(figure, width="stretch", key="video_field", config=chart_config(PICTURE_TOOLBAR))
    field = info.field
    inside = (t1 - t0, y1 - y0, x1 - x0) == (field.time.size, field.height.size, field.width.size)
    cut = "" if inside else ", cut here by the clip's edges"
    st.caption(f"Unit ({t + 1}, {row + 1}, {col + 1}) of {layer} reads frames {t0 + 1}–{t1} ({t1 - t0} of "
               f"{NETWORK_FRAMES}) and pixels {x0}–{x1} across, {y0}–{y1} down: its field spans {field.time.size} "
               f"frames and {field.height.size}×{field.width.size} px{cut}. Neighbouring units are "
               f"{field.time.jump} frame(s) and {field.height.jump} px apart.")


def kinetics_cam_view(loaded, clip, inspection):
    spec = loaded.spec
    names = pretrained.class_names(spec)
    predictions = top_k(inspection.capture.logits, names)
    target = st.selectbox("Action", [p.index for p in predictions], key="video_cam_class",
                          format_func=lambda i: names[i] if loaded.weights.trained else f"output {i}")
    cam = clip_grad_cam(loaded, clip, inspection.view, spec.cam_layer, target)
    numbers = [str(i + 1) for i in range(NETWORK_FRAMES)]
    figure = drawn(("video", "grad-cam", clip.sha256, *model_key(loaded), target),
                   lambda: labelled_tiles(cam_frames(inspection.view, cam), numbers, cols=8))
    st.plotly_chart(figure, width="stretch", key="video_cam", config=chart_config(PICTURE_TOOLBAR))
    with st.expander("This map in a notebook (Python)", icon=":material/code:"):
        st.code(space_time_cam_code(loaded, clip, NETWORK_FRAMES, spec.cam_layer, target), language="python",
                wrap_lines=True)
    shares = cam.sum(dim=(1, 2)).numpy()
    total = shares.sum()
    if total <= 0:
        st.caption(f"Grad-CAM at {spec.cam_layer} is zero everywhere for this class: no map adds to its score.")
        return
    shares = shares / total
    st.plotly_chart(frame_share_figure(shares), width="stretch", key="video_cam_shares", config=chart_config())
    first, last = int(np.argmax(shares)), int(np.argmin(shares))
    st.caption(f"Grad-CAM at {spec.cam_layer} ({inspection.layer(spec.cam_layer).describe()}): each map weighted by "
               "the mean gradient of the class's score over time and space, summed, negatives cut, then spread over "
               f"the frames. Frame {first + 1} holds the most ({shares[first]:.1%}), frame {last + 1} the least "
               f"({shares[last]:.1%}); an even spread would give {1 / len(shares):.1%} each.")


clip = clip_picker()
st.plotly_chart(drawn(("video", "frames", clip.sha256), lambda: frames_figure(clip.frames, clip.times)),
                width="stretch",
                key="video_frames",
                config=chart_config(PICTURE_TOOLBAR))
st.text(describe(clip))  # st.text: a file's name is never read as Markdown
st.caption(f"Sampled: {clip.sampling}" + (f" over the first {clip.decoded:.1f} s" if clip.decoded < clip.duration
                                           else "") + f"; the strip shows {min(8, len(clip.frames))} of them.")
for note in clip.notes:
    st.caption(f"ⓘ {note.capitalize()}.")

tabs = lazy_tabs(["Why time matters", "Two streams and SlowFast", "Kinetics networks", "TimeSformer's attention"],
                 "video_tab", {"Two streams and SlowFast": ("video_pair", "video_alpha", "video_beta"),
                               "Kinetics networks": ("video_network", "video_layer", "video_unit", "video_cam"),
                               "TimeSformer's attention": ("video_query",)})
draw_open(tabs, [lambda: time_matters(clip), lambda: streams_and_sampling(clip),
                 lambda: kinetics_view(clip), lambda: schemes_view(clip)])
