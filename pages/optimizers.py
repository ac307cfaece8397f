"""Optimizer race: every optimizer of the course from one start on a classic surface, replayed."""

import dataclasses

import streamlit as st

from app.notebook import snippet
from app.optim.figures import SURFACE_3D_CONFIG
from app.optim.race import RaceSettings, default_racers
from app.optim.race_table import race_table, steps_column
from app.optim.schedules import SCHEDULES
from app.optim.surfaces import SURFACES
from app.optim.trajectories import GradientNoise
from components.figure_export import chart_config
from components.lazy_tabs import lazy_tabs
from components.optimizer_race import loss_chart, race_chart, surface_chart, trajectories
from components.race_hyperparameters import hyperparameter_rows

DEFAULT_RACERS = ["SGD", "Momentum (PyTorch)", "Nesterov", "RMSProp", "Adam"]

st.title("Optimizer race")
st.caption("Why SGD crawls along a valley floor, how momentum helps, what Nesterov changes, and why adaptive "
           "methods rescale each coordinate. Click the contour plot to start somewhere else (or drag a box "
           "with the box-select tool).")

controls, chart = st.columns([1, 2], gap="large")
with controls:
    surface = SURFACES[st.selectbox("Surface", list(SURFACES), key="race_surface")]
    if surface.name == "Quadratic bowl":
        condition = st.select_slider("Condition number κ", [1, 2, 5, 10, 20, 50, 100], 10, key="race_kappa")
        rotation = st.slider("Rotation (°)", 0, 90, 30, 5, key="race_rotation")
        surface = dataclasses.replace(surface, condition=float(condition), rotation_degrees=float(rotation))
    st.caption(surface.description)

    # A click on the chart (its selection) moves the start; applied before the inputs are drawn.
    # The chart then gets a new key, so the used-up selection does not stay drawn on it.
    start_x_key, start_y_key = f"start_x_{surface.name}", f"start_y_{surface.name}"
    st.session_state.setdefault(start_x_key, float(surface.start[0]))
    st.session_state.setdefault(start_y_key, float(surface.start[1]))
    chart_key = f"race_chart_{st.session_state.setdefault('race_picks', 0)}"
    picked = st.session_state.get(chart_key, {}).get("selection", {}).get("points", [])
    if picked:
        st.session_state[start_x_key] = round(sum(p["x"] for p in picked) / len(picked), 3)
        st.session_state[start_y_key] = round(sum(p["y"] for p in picked) / len(picked), 3)
        st.session_state["race_picks"] += 1
        chart_key = f"race_chart_{st.session_state['race_picks']}"
    left, right = st.columns(2)
    start = (left.number_input("Start x", key=start_x_key, step=0.1, format="%.3f"),
             right.number_input("Start y", key=start_y_key, step=0.1, format="%.3f"))
    (x0, x1), (y0, y1) = surface.view
    if not (x0 <= start[0] <= x1 and y0 <= start[1] <= y1):
        st.warning("The start is outside the plotted range: the paths begin off the chart.")
    steps = st.slider("Steps", 10, 1000, 200, 10, key="race_steps")

    catalogue = default_racers(surface)
    # Pills show all nine choices at once (a multiselect in this column showed two of its chips);
    # wrap=True, or in a column they stay on one row and scroll sideways.
    chosen = st.pills("Optimizers", list(catalogue), selection_mode="multi", default=DEFAULT_RACERS,
                      wrap=True, key="race_optimizers")
    chosen_names = [name for name in catalogue if name in chosen]
    schedule_name = st.selectbox("Learning-rate schedule", list(SCHEDULES), key="race_schedule")
    schedule_type = SCHEDULES[schedule_name]
    schedule_values = {f.name: st.number_input(f"{schedule_name}: {f.name}", value=f.default,
                                               key=f"sched_{f.name}")
                       for f in dataclasses.fields(schedule_type)}
    if "SGD" in chosen_names:
        noise_scale = st.slider("SGD gradient noise (scale)", 0.0, 20.0, 2.0, 0.5, key="race_noise")
        batch = st.select_slider("… batch size (noise ÷ √batch)", [1, 2, 4, 8, 16, 32, 64, 128], 8,
                                 key="race_batch")
    else:
        noise_scale, batch = 0.0, 1
    notes = st.container()

# Full width under the race: the widest row (Adam's five settings) fits without wrapping.
with st.expander("Hyperparameters: learning rate, momentum, β₁, β₂, ε, weight decay of each optimizer"):
    racers = hyperparameter_rows(surface, [catalogue[name] for name in chosen_names])
with notes:
    if not racers:
        st.info("Choose at least one optimizer.")
    if any(r.lr < 0 for r in racers):
        st.warning("A negative learning rate climbs uphill: that racer will run away.")
    if any(r.lr == 0 for r in racers):
        st.info("A learning rate of 0 never moves: that racer stays at the start.")

settings = RaceSettings(surface, tuple(racers), start, steps, schedule_type(**schedule_values),
                        GradientNoise(noise_scale, batch, seed=0))
with chart:
    # Only the open tab runs: each view costs a figure to build, send and draw.
    tabs = lazy_tabs(["Race", "3D", "Loss", "Table"], "race_tab", {"Loss": ("race_log",), "Table": ("race_tolerance",)})
    with tabs[0]:
        if tabs[0].open:
            st.plotly_chart(race_chart(settings), width="stretch", key=chart_key, on_select="rerun",
                            selection_mode=("points", "box"), config=chart_config())
            st.caption("▶ Replay moves every racer together: the dark line is −gradient, the grey arrow "
                       "with a head in the racer's colour the velocity of momentum methods, the dotted box "
                       "each coordinate's effective learning rate of adaptive methods (wide: that direction "
                       "moves fast).")
            with st.expander("This race in a notebook (Python)", icon=":material/code:"):
                st.code(snippet(settings, "settings", "race_figure(settings.surface, settings.run(), settings.start)",
                                ["from app.optim.figures import race_figure"]), language="python", wrap_lines=True)
    with tabs[1]:
        if tabs[1].open:
            st.plotly_chart(surface_chart(settings), width="stretch", key="race_3d",
                            config=chart_config(SURFACE_3D_CONFIG))
    with tabs[2]:
        if tabs[2].open:
            log_scale = st.toggle("Log scale", True, key="race_log")
            st.plotly_chart(loss_chart(settings, log_scale), width="stretch", key="race_loss", config=chart_config())
    with tabs[3]:
        if tabs[3].open:
            tolerance = st.number_input("Tolerance", value=1e-3, format="%.0e", key="race_tolerance")
            first_step = st.column_config.NumberColumn(
                help="The first step within the tolerance of the minimum; empty: never.")
            st.dataframe(race_table(trajectories(settings), surface, tolerance), hide_index=True,
                         width="stretch", column_config={steps_column(tolerance): first_step})
            st.caption("Momentum (course), v ← λv − (1−λ)g, θ ← θ + ηv, and PyTorch's b ← μb + g, "
                       "θ ← θ − η′b take identical steps when μ = λ and η′ = (1 − λ)η.")
