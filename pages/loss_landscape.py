"""Loss landscape: the loss of a real network around its trained weights, with its training path."""

import numpy as np
import streamlit as st

from app.landscape.figures import contour_figure, line_figure, shared_range, surface_3d_figure
from app.landscape.grid import (
    drawable,
    filter_normalized_direction,
    pca_directions,
    per_example_losses,
    point_weights,
)
from app.landscape.sharpness import DOUBLING, basin_widths
from components.compute_slots import queue_notice
from components.deferred_work import live_section, result_or_progress
from components.landscape_jobs import (
    COARSE,
    HESSIAN_PRODUCTS,
    MAX_SECONDS,
    GridResult,
    GridSpec,
    calibration,
    cancel,
    estimate,
    job,
    lines,
    start,
    subject,
    subjects,
)
from components.lazy_tabs import lazy_tabs

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
                                        log_scale), width="stretch", key="land_line1")
    columns[1].plotly_chart(line_figure(computed.around, computed.random_loss, computed.random_accuracy,
                                        "Along a random filter-normalised direction", {"final": 0.0}, log_scale),
                            width="stretch", key="land_line2")
    st.caption("θ(α) = θ₀ + α(θ* − θ₀) on the left (Goodfellow et al.'s line, continued past both ends); "
               "θ* + αd on the right, d scaled filter by filter to the weights' norms.")


def grid_controls(prefix: str, allow_pca: bool) -> GridSpec | None:
    columns = st.columns(4)
    kinds = ["random filter-normalised", "PCA of the training path"] if allow_pca else ["random filter-normalised"]
    kind = columns[0].radio("Directions", kinds, key=f"{prefix}_kind")
    resolution = columns[1].select_slider("Resolution", [9, 21, 41, 51], 21, key=f"{prefix}_resolution")
    span = columns[2].select_slider("Span (±)", [0.25, 0.5, 1.0, 2.0], 1.0, key=f"{prefix}_span",
                                    disabled=kind != kinds[0])
    seed = columns[3].number_input("Seed", 0, 10_000, 0, key=f"{prefix}_seed")
    return GridSpec((), "pca" if kind != kinds[0] else "random", int(seed), resolution, span, size)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def run_grid(spec: GridSpec, networks: list, label: str) -> list[GridResult] | None:
    """Cost estimate, start/cancel, progress; returns the results (partial while running)."""
    points = spec.resolution ** 2 * len(networks)
    snapshot = job(spec)
    active = bool(snapshot and snapshot.active)
    columns = st.columns([3, 1, 1])
    timings = [calibration(network, spec.evaluation_size, spec.curvature) for network in networks]
    timing = next((t for t in timings if t.status != "finished"), None)
    if timing is not None:
        with columns[0]:
            result_or_progress(timing, "Timing a few points on this server for the estimate:")
    else:
        costs = [t.result for t in timings]
        seconds = estimate(spec, costs).remaining_s()
        hessian = (f", then the Hessian's top eigenvalue (at most {HESSIAN_PRODUCTS} products each)"
                   if spec.curvature else "")
        columns[0].caption(f"{points:,} points{hessian}: about {_duration(seconds)} at the pace timed on this "
                           f"server ({costs[0].point_s * 1e3:.0f} ms per point); a {COARSE}×{COARSE} preview comes "
                           "first.")
        if seconds > MAX_SECONDS:
            st.error(f"About {seconds / 60:.0f} minutes: more than the {MAX_SECONDS // 60} allowed. Choose a "
                     "coarser grid or a smaller evaluation set.")
            return None
        # Callbacks, not `if st.button(...)`: a click that lands while a polling fragment reruns
        # would otherwise be lost; a callback runs before any rerun.
        columns[1].button(label, type="primary", key=f"start_{label}", on_click=start, args=(spec, networks, costs),
                          disabled=active)
    if active:
        columns[2].button("Cancel", key=f"cancel_{label}", on_click=cancel, args=(spec,))
    if snapshot is None:
        return None
    if snapshot.status == "failed":
        st.error(snapshot.error)
        return None
    queue_notice([snapshot.status])
    if snapshot.active:
        left = snapshot.partial.seconds_left if snapshot.partial is not None else None  # from the pace so far
        st.progress(snapshot.fraction, text=f"{snapshot.fraction:.0%} done" + (
            f", about {_duration(left)} left" if left is not None else ", starting…"))
    if snapshot.result is not None:
        return snapshot.result
    if snapshot.partial is None:
        return None
    return [snapshot.partial.latest] if snapshot.partial.index == 0 else None


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
    result = run_grid(spec, [chosen], "Compute the surface")
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
                      width="stretch", key="plane_contour")
    right.plotly_chart(surface_3d_figure(surface, metric, log_scale), width="stretch", key="plane_3d")


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
    result = run_grid(spec, [subject(k) for k in pair], "Compute both")
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
                            key=f"compare_{k}")
    st.caption("The same colour scale on both sides: equal colours are equal values.")
    if complete and all(r.top_eigenvalue is not None for r in result):
        images = len(subject(pair[0]).evaluation(spec.evaluation_size))
        st.markdown(sharpness_words([choices[k] for k in pair], result, images))
    st.caption("What Li et al. (NeurIPS 2018) found on their networks (ResNets, VGG-9 and Wide-ResNets on "
               "CIFAR-10): shallow networks have wide, nearly convex basins; deeper ones without skip connections "
               "turn chaotic, and skip connections and wider layers push that change to much greater depths. Two "
               "small networks need not behave alike: the measurements above say what this grid shows.")


def _width_words(width) -> str:
    if width.width is None:
        return "wider than the grid (the loss stays below double within the span on a side)"
    return f"{width.width:.2f}"


def sharpness_words(names: list[str], results: list[GridResult], images: int) -> str:
    """What this grid shows about the two networks' sharpness, from the computed surfaces."""
    widths = [basin_widths(r.surface, DOUBLING) for r in results]
    sums = [sum(w.width if w.width is not None else float("inf") for w in pair) for pair in widths]
    eigenvalues = [r.top_eigenvalue.value for r in results]
    each = "; ".join(f"{name}: {_width_words(a)} along α and {_width_words(b)} along β"
                     for name, (a, b) in zip(names, widths))
    narrower = names[int(np.argmin(sums))] if sums[0] != sums[1] else None
    verdict = f"On this grid the basin of **{narrower}** is narrower." if narrower else \
        "On this grid neither basin is narrower."
    steeper = names[int(np.argmax(eigenvalues))]
    agreement = "" if narrower is None else " — as the widths say" if steeper == narrower else \
        " — the widths say the opposite"
    unconverged = [name for name, r in zip(names, results) if not r.top_eigenvalue.converged]
    caveat = f" (not converged in {HESSIAN_PRODUCTS} products for {', '.join(unconverged)})" if unconverged else ""
    return (f"**Sharpness, measured on this grid.** Width of the basin where the loss stays below {DOUBLING:g}× its "
            f"value at the trained weights, in units of the drawn directions (α = 1 moves every filter by its own "
            f"norm), interpolated between grid points — {each}. {verdict} Top eigenvalue of the Hessian at the "
            f"trained weights (power iteration on Hessian-vector products, the same {images:,} images): "
            f"{eigenvalues[0]:.3g} vs {eigenvalues[1]:.3g}{caveat}, larger for {steeper}{agreement}. Read the "
            "eigenvalue with care: it is loss per squared unit of raw parameter change, so it depends on the "
            "weights' scale; batch norm makes a layer ignore the scale of the weights feeding it, so rescaling "
            "them (and the running statistics with them) changes this eigenvalue but not the network (Li et al. "
            "§4; Dinh et al., ICML 2017, show the same for ReLU networks). The widths along filter-normalised "
            "directions are Li et al.'s own comparison.")


def full_set_check():
    st.markdown("Li et al. evaluate every point on the **whole training set**; here a point costs one forward pass "
                "of the evaluation sample. At a few points the two should agree within the sample's uncertainty.")
    if st.button("Check three points against the full training set", key="land_full"):
        directions = (filter_normalized_direction(chosen.final, 0), filter_normalized_direction(chosen.final, 1))
        rows, network = [], chosen.network()
        with st.spinner(f"Evaluating on {len(chosen.training):,} training images…"):
            for alpha, beta in ((0.0, 0.0), (0.5, 0.0), (-0.5, 0.5)):
                weights = point_weights(chosen.final, directions, (alpha, beta))
                sample = per_example_losses(network, weights, chosen.evaluation(size))
                full = per_example_losses(network, weights, chosen.training)
                tolerance = 3 * float(sample.std()) / np.sqrt(len(sample))
                gap = abs(float(sample.mean()) - float(full.mean()))
                rows.append({"α": alpha, "β": beta, "sample loss": float(sample.mean()),
                             "full training-set loss": float(full.mean()), "difference": gap,
                             "tolerance (3 standard errors)": tolerance, "agree": gap <= tolerance})
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
