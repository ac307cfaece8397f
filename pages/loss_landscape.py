"""Loss landscape: the loss of a real network around its trained weights, with its training path."""

import streamlit as st

from app.landscape.figures import contour_figure, line_figure, shared_range, surface_3d_figure
from app.landscape.full_set import sample_against_full_set
from app.landscape.grid import (
    drawable,
    pca_directions,
)
from app.landscape.sharpness import sharpness_verdict
from components.deferred_work import live_section, result_or_progress
from components.device_picker import current_device
from components.figure_export import chart_config
from components.landscape_jobs import (
    COARSE,
    HESSIAN_PRODUCTS,
    GridSpec,
    lines,
    subject,
    subjects,
)
from components.landscape_panel import grid_panel
from components.lazy_tabs import lazy_tabs
from components.notebook_code import landscape_lines_code, landscape_plane_code

st.title("Loss landscape")
st.caption("Li et al. (NeurIPS 2018) in seconds: every point is the exact loss of the network with moved weights "
           "on the stated evaluation set, in eval mode (batch norm uses its running statistics).")

choices = subjects()
if not choices:
    st.warning("No network to look at: the shipped ones need Fashion-MNIST (Debian's dataset-fashion-mnist), and "
               "this session has no finished run yet — train one on the Live training page.")
    st.stop()
left, middle, right = st.columns(3)
key = left.selectbox("Network", list(choices), format_func=choices.get, key="land_subject")
try:
    chosen = subject(key)
except (FileNotFoundError, ValueError) as problem:  # a missing or corrupt shipped file (checked by SHA-256)
    st.error(f"{choices[key]} cannot be loaded: {problem}")
    st.stop()
sizes = {"500 validation images": 500, "1,000 validation images": 1000, "all validation images": None}
size_label = middle.selectbox("Evaluation set", list(sizes), index=1, key="land_size")
size = sizes[size_label]
log_scale = right.toggle("Log scale", value=True, key="land_log",
                          help="Loss spans orders of magnitude away from the minimum: on a log scale the basin "
                               "stays visible.")
st.caption(f"{chosen.title}: evaluated on {len(chosen.evaluation(size)):,} images; the path has "
           f"{len(chosen.path)} checkpoints.")


def lines_view():
    seed = st.number_input("Direction seed", 0, 10_000, 0, key="land_line_seed")
    computed = result_or_progress(lines(chosen, size, int(seed)), "Evaluating 2 × 41 points:")
    if computed is None:
        return
    columns = st.columns(2)
    columns[0].plotly_chart(line_figure(computed.along, computed.path_loss, computed.path_accuracy,
                                        "From the initial to the final weights", {"initial": 0.0, "final": 1.0},
                                        log_scale), width="stretch", key="land_line1", config=chart_config())
    columns[1].plotly_chart(line_figure(computed.around, computed.random_loss, computed.random_accuracy,
                                        "Along a random filter-normalised direction", {"final": 0.0}, log_scale),
                            width="stretch", key="land_line2", config=chart_config())
    st.caption("θ(α) = θ₀ + α(θ* − θ₀) on the left (Goodfellow et al.'s line, continued past both ends); "
               "θ* + αd on the right, d scaled filter by filter to the weights' norms.")
    if not key.startswith("run:"):  # a live-training run would have to be trained again first
        with st.expander("These lines in a notebook (Python)", icon=":material/code:"):
            st.code(landscape_lines_code(key, str(current_device()), size, int(seed), log_scale), language="python",
                    wrap_lines=True)


def grid_controls(prefix: str, allow_pca: bool) -> GridSpec | None:
    columns = st.columns(4)
    kinds = ["random filter-normalised", "PCA of the training path"] if allow_pca else ["random filter-normalised"]
    kind = columns[0].radio("Directions", kinds, key=f"{prefix}_kind")
    resolution = columns[1].select_slider("Resolution", [9, 21, 41, 51], 21, key=f"{prefix}_resolution")
    span = columns[2].select_slider("Span (±)", [0.25, 0.5, 1.0, 2.0], 1.0, key=f"{prefix}_span",
                                    disabled=kind != kinds[0])
    seed = columns[3].number_input("Seed", 0, 10_000, 0, key=f"{prefix}_seed")
    return GridSpec((), "pca" if kind != kinds[0] else "random", int(seed), resolution, span, size)


PREVIEW = (f"A {COARSE}×{COARSE} preview: every value drawn is computed; the full grid appears once all its "
           "points are.")


def plane_view():
    spec = grid_controls("plane", allow_pca=True)
    spec = GridSpec((key,), spec.directions, spec.seed, spec.resolution, spec.span, spec.evaluation_size)
    if spec.directions == "pca":
        try:
            plane = pca_directions(chosen.path)
        except ValueError as problem:
            st.warning(f"{problem}. Random filter-normalised directions work for any network.")
            return
        st.caption(f"The plane of the path's first two principal directions: {plane.explained[0]:.0%} and "
                   f"{plane.explained[1]:.0%} of its variance.")
    result = grid_panel(spec, [chosen], "Compute the surface")
    if not result:
        return
    computed, plane = result[0].surface, result[0].plane
    surface = drawable(computed, COARSE)
    if surface is None:
        return
    if surface is not computed:
        st.caption(PREVIEW)
    metric = st.radio("Show", ["loss", "accuracy"], horizontal=True, key="plane_metric")
    left, right = st.columns(2)
    left.plotly_chart(contour_figure(surface, metric, log_scale, path=plane.coordinates if plane else None),
                      width="stretch", key="plane_contour", config=chart_config())
    right.plotly_chart(surface_3d_figure(surface, metric, log_scale), width="stretch", key="plane_3d",
                       config=chart_config())
    if surface is computed and not key.startswith("run:"):  # a run would have to be trained again first
        with st.expander("This contour in a notebook (Python)", icon=":material/code:"):
            st.code(landscape_plane_code(key, str(current_device()), size, spec.directions, spec.seed,
                                         spec.resolution, spec.span, metric, log_scale), language="python",
                    wrap_lines=True)


def comparison_view():
    pairs = {"LeNet-5: batch norm or not": ("lenet", "lenet_bn"),
             "Small ResNet: skip connections or not": ("resnet", "resnet_noskip")}
    runs = [k for k in choices if k.startswith("run:")]
    if len(runs) >= 2:
        pairs["your last two runs"] = tuple(runs[-2:])
    available = {name: pair for name, pair in pairs.items() if all(k in choices for k in pair)}
    if not available:
        st.info("Two networks are needed: the shipped ones (with Fashion-MNIST) or two finished runs.")
        return
    pair = available[st.selectbox("Compare", list(available), key="compare_pair")]
    spec = grid_controls("compare", allow_pca=False)
    spec = GridSpec(pair, spec.directions, spec.seed, spec.resolution, spec.span, spec.evaluation_size, curvature=True)
    result = grid_panel(spec, [subject(k) for k in pair], "Compute both")
    if not result or len(result) < 2:
        return
    surfaces = [drawable(r.surface, COARSE) for r in result]
    if any(s is None for s in surfaces):
        return
    complete = all(s is r.surface for s, r in zip(surfaces, result))
    if not complete:
        st.caption(PREVIEW)
    metric = st.radio("Show", ["loss", "accuracy"], horizontal=True, key="compare_metric")
    shared = shared_range(surfaces, metric, log_scale)
    for column, surface, k in zip(st.columns(2), surfaces, pair):
        column.plotly_chart(contour_figure(surface, metric, log_scale, shared, title=choices[k]), width="stretch",
                            key=f"compare_{k}", config=chart_config())
    st.caption("The same colour scale on both sides: equal colours are equal values.")
    if complete and all(r.top_eigenvalue is not None for r in result):
        images = len(subject(pair[0]).evaluation(spec.evaluation_size))
        st.markdown(sharpness_verdict([choices[k] for k in pair], [r.surface for r in result],
                                      [r.top_eigenvalue for r in result], images, HESSIAN_PRODUCTS))
    st.caption("What Li et al. (NeurIPS 2018) found on their networks (ResNets, VGG-9 and Wide-ResNets on "
               "CIFAR-10): shallow networks have wide, nearly convex basins; deeper ones without skip connections "
               "turn chaotic, and skip connections and wider layers push that change to much greater depths. Two "
               "small networks need not behave alike: the measurements above say what this grid shows.")


def full_set_check():
    st.markdown("Li et al. evaluate every point on the **whole training set**; here a point costs one forward pass "
                "of the evaluation sample. At a few points the two should agree within the sample's uncertainty.")
    if st.button("Check three points against the full training set", key="land_full"):
        with st.spinner(f"Evaluating on {len(chosen.training):,} training images…"):
            rows = sample_against_full_set(chosen, size)
        st.dataframe(rows, hide_index=True, width="stretch")
        st.caption("The tolerance is three standard errors of the sample's mean loss. A trained network's "
                   "validation loss sits a little above its training loss at (0, 0): that is the generalisation "
                   "gap, not noise.")


# Only the open tab runs: each starts work of its own (lines, timings, grids).
tabs = lazy_tabs(["1D lines", "2D plane", "BN or skips: side by side", "Sample vs full set"], "land_tab",
                 {"1D lines": ("land_line_seed",), "2D plane": ("plane_",), "BN or skips: side by side": ("compare_",)})
for tab, name, view in zip(tabs, ("lines", "plane", "comparison"), (lines_view, plane_view, comparison_view)):
    with tab:
        if tab.open:
            live_section(name, view)
with tabs[3]:
    if tabs[3].open:
        full_set_check()
