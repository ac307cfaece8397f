"""Live training: train a small network here and watch batch norm, dropout and augmentation change the curves."""

import streamlit as st

from app.optim.schedules import SCHEDULES
from app.serving.devices import describe_device
from app.training.augment import Augmentation
from app.training.datasets import SOURCES
from app.training.figures import (
    augmentation_figure,
    confusion_figure,
    curves_figure,
    difference_labels,
    epochs_trained,
    probe_drift,
    probe_figure,
    probe_partner,
    probe_span_note,
    run_table,
    wrong_images_figure,
)
from app.training.loop import OPTIMIZERS, TrainingConfig
from app.training.networks import NETWORKS, settings_of
from app.training.pairs import AB_CHANGES, pair_changes
from components.compute_slots import queue_notice
from components.device_picker import current_device
from components.figure_export import PICTURE_TOOLBAR, chart_config
from components.lazy_tabs import lazy_tabs
from components.notebook_code import training_curves_code
from components.training_session import (
    augmentation_warning,
    dataset,
    follow_newest_finished,
    resume_run,
    start_runs,
    stop_all,
    unreadable_runs,
    workspace_runs,
)

st.title("Live training")
st.caption(f"Training runs in the background on **{describe_device(current_device())}**; switching pages does "
           "not stop it. Monitor the curves: the gap between training and validation is overfitting.")

data_col, model_col, optim_col = st.columns(3)
with data_col:
    st.markdown("**Data**")
    name = st.selectbox("Dataset", list(SOURCES), key="train_dataset",
                        format_func=lambda n: f"{n} · {SOURCES[n].status().state.value}")
    data = dataset(name)
    small = st.toggle("Small subset (1,000 training images)", True, key="train_small",
                      help="Few images make overfitting appear within a minute.")
    validation = st.select_slider("Validation images", [200, 500, 1000, 2000], 500, key="train_validation")
with model_col:
    st.markdown("**Model**")
    model = st.selectbox("Network", NETWORKS, key="train_model")
    batch_norm = st.toggle("Batch norm", key="train_bn")
    skip_connections = st.toggle("Skip connections", True, key="train_skips",
                                 disabled="skip_connections" not in settings_of(model),
                                 help="The small ResNet's shortcuts; without them it is a plain network. "
                                      "The other networks have none.")
    dropout = st.slider("Dropout p", 0.0, 0.8, 0.0, 0.1, key="train_dropout")
    width = st.select_slider("Width", [0.5, 1.0, 2.0], 1.0, key="train_width")
with optim_col:
    st.markdown("**Optimization**")
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index("Adam"), key="train_optimizer")
    learning_rate = st.number_input("Learning rate", 1e-6, 1e6, 1e-3, format="%.5f", key="train_lr",
                                    help="Try something absurd, like 1000000, to watch a run diverge.")
    schedule = st.selectbox("Schedule", list(SCHEDULES), key="train_schedule")
    left, right = st.columns(2)
    batch_size = left.select_slider("Batch", [16, 32, 64, 128, 256], 64, key="train_batch")
    epochs = right.number_input("Epochs", 1, 200, 10, key="train_epochs")
    weight_decay = left.number_input("Weight decay", 0.0, 1.0, 0.0, format="%.4f", key="train_wd")
    seed = right.number_input("Seed", 0, 10_000, 0, key="train_seed")

with st.expander("Data augmentation", expanded=False):
    columns = st.columns(4)
    augmentation = Augmentation(
        crop=columns[0].slider("Random shift (px)", 0, 6, 0, key="aug_crop"),
        flip=columns[1].toggle("Horizontal flip", key="aug_flip"),
        rotation=float(columns[2].slider("Rotation (±°)", 0, 180, 0, 5, key="aug_rotation")),
        noise=columns[3].slider("Noise (std)", 0.0, 0.5, 0.0, 0.05, key="aug_noise"),
    )
    if data is not None:
        warning = augmentation_warning(name, augmentation.flip, augmentation.rotation)
        if warning:
            st.warning(warning, icon=":material/warning:")
        st.plotly_chart(augmentation_figure(data.train_images[:16].float() / 255, data.train_labels[:16],
                                            data.classes, augmentation, int(seed)), width="stretch",
                        key="aug_preview", config=chart_config(PICTURE_TOOLBAR))
        st.caption("Sixteen training images as the network will see them (a new draw every step).")

config = TrainingConfig(model=model, batch_norm=batch_norm, dropout=dropout, width=width,
                        skip_connections=skip_connections, optimizer=optimizer,
                        learning_rate=learning_rate, schedule=schedule, batch_size=batch_size, epochs=int(epochs),
                        weight_decay=weight_decay, seed=int(seed), augmentation=augmentation)
subset = 1000 if small else None
start_col, ab_col, ab_button_col, stop_col = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
change = ab_col.selectbox("A/B pair differing in", pair_changes(config), key="train_ab",
                          help=f"Only what changes a {model} run is offered.")
message = None
if start_col.button("Start", type="primary", icon=":material/play_arrow:", disabled=data is None, key="train_start"):
    message = start_runs([config], data, validation, subset)
if ab_button_col.button("Start A/B", icon=":material/compare:", disabled=data is None, key="train_start_ab"):
    message = start_runs([config, AB_CHANGES[change](config)], data, validation, subset)
if stop_col.button("Stop all", icon=":material/stop:", key="train_stop"):
    stop_all()
if message:
    st.warning(message)

active = any(run.snapshot().active for run in workspace_runs())
RESUME_NOTE = "_resume_note"
if note := st.session_state.pop(RESUME_NOTE, None):
    st.warning(note, icon=":material/warning:")


@st.fragment(run_every=1.0 if active else None)
def live_view() -> None:
    runs = workspace_runs()
    for label, why in unreadable_runs().items():
        st.warning(f"{label} could not be read back from this workspace ({why}); the other runs are shown.",
                   icon=":material/broken_image:")
    if not runs:
        st.info("No runs yet: choose settings and press Start (or an A/B pair).")
        return
    snapshots = [run.snapshot() for run in runs]
    labels = [f"{s.label}: {d}" for s, d in zip(snapshots, difference_labels([s.config for s in snapshots],
                                                                               [s.data for s in snapshots]))]
    for run, snapshot, label in zip(runs, snapshots, labels):
        if snapshot.problem:
            st.error(f"{label} stopped: {snapshot.problem}")
        elif snapshot.status == "interrupted":
            epoch = snapshot.steps[-1].epoch if snapshot.steps else 0.0
            note, button = st.columns([4, 1], vertical_alignment="center")
            step = run.resume_step
            since = next((s.epoch for s in snapshot.steps if s.step == step), 0.0)
            how = ("exactly as if it had not stopped: its optimizer state and random draws were kept"
                   if run.resumes_exactly else "with a fresh optimizer state (its own was not kept)")
            note.warning(f"{label} was interrupted at epoch {epoch:.2f} (the server stopped, or every tab of this "
                         f"workspace was closed): its curves so far are kept. Resuming goes on from epoch "
                         f"{since:.2f}, {how}.", icon=":material/pause_circle:")
            if button.button("Resume", icon=":material/play_arrow:", key=f"resume_{snapshot.label}"):
                refusal, note = resume_run(run)
                if refusal:
                    st.warning(refusal)
                else:
                    st.session_state[RESUME_NOTE] = note  # shown by the run that follows
                    st.rerun()  # the whole page: the run is active again
    st.caption(" · ".join(f"{label}: **{s.status}**, epoch {s.steps[-1].epoch:.2f}" if s.steps else
                          f"{label}: **{s.status}**" for s, label in zip(snapshots, labels)))
    queue_notice([s.status for s in snapshots])
    smoothing = st.slider("Smoothing (debiased EMA, as TensorBoard)", 0.0, 0.99, 0.6, 0.01, key="train_smoothing")
    st.plotly_chart(curves_figure(snapshots, labels, smoothing), width="stretch", key="train_curves",
                    config=chart_config())
    if not any(s.active for s in snapshots):  # the settings of runs still training may yet be stopped
        with st.expander("These curves in a notebook (Python)", icon=":material/code:"):
            cut_short = [s.label for s in snapshots if s.status != "finished"]
            if cut_short:
                st.caption(f"{', '.join(cut_short)} did not train to the end here; in a notebook every run trains "
                           "all its epochs.")
            st.code(training_curves_code(snapshots, labels, smoothing, str(current_device())), language="python",
                    wrap_lines=True)
    datasets = list(dict.fromkeys(s.data.dataset for s in snapshots))  # in the order of the runs
    if len(datasets) > 1:  # overlaid on purpose: how hard each dataset is, for one network, is worth seeing
        st.caption(f"These runs learn different data ({', '.join(datasets)}): where their curves part, the data "
                   "differs as well as the settings.")
    st.dataframe(run_table(snapshots, labels), hide_index=True, width="stretch",
                 column_config={"Run": st.column_config.TextColumn(width="large")})
    if any(s.active for s in snapshots) != active:
        st.rerun()  # a run ended or began: the whole page redraws (buttons, end-of-run views)


live_view()

finished = [(run.snapshot(), run) for run in workspace_runs() if run.snapshot().result is not None]
if finished:
    st.subheader("After the run")
    snapshots = [s for s, _ in finished]
    labels = dict(zip([s.label for s in snapshots], difference_labels([s.config for s in snapshots],
                                                                      [s.data for s in snapshots])))
    follow_newest_finished("train_after", list(labels))
    chosen = st.selectbox("Run (the one that finished last, until you choose another)", list(labels),
                          key="train_after", format_func=lambda label: f"{label}: {labels[label]}")
    snapshot, run = next((s, r) for s, r in finished if s.label == chosen)
    # Only the open tab runs: each view is a figure to build, send and draw (a workspace with ten
    # runs cost a second more to reopen than a fresh visit with all three, bench/workspace_reopen.py).
    tabs = lazy_tabs(["Confusion matrix", "Most confidently wrong", "Batch norm's probe"], "train_after_tab", {})
    with tabs[0]:
        if tabs[0].open:
            st.plotly_chart(confusion_figure(snapshot.result.confusion, run.data.classes), width="stretch",
                            key="train_confusion", config=chart_config())
    with tabs[1]:
        if tabs[1].open:
            if snapshot.result.wrong:
                st.plotly_chart(wrong_images_figure(run.data.val_x, snapshot.result.wrong, run.data.classes),
                                width="stretch", key="train_wrong", config=chart_config(PICTURE_TOOLBAR))
                st.caption("Validation images the network got wrong with the highest confidence: true class, "
                           "then → the predicted class and its probability.")
            else:
                st.success("No validation image is misclassified.")
    with tabs[2]:
        if tabs[2].open:
            partner = probe_partner(snapshot, [s for s in snapshots if s.label != chosen])
            compare = [snapshot] + ([partner] if partner else [])
            names = [f"{s.label}: batch norm {'on' if s.config.batch_norm else 'off'}" for s in compare]
            peak = max(float((h.counts / max(h.counts.sum(), 1)).max()) for s in compare for h in s.histograms)
            longest = max(epochs_trained(s) for s in compare)
            for column, shown, name in zip(st.columns(len(compare)), compare, names):
                column.plotly_chart(probe_figure(shown, name, peak, longest), width="stretch", key=f"probe_{shown.label}",
                                    config=chart_config())
            note = probe_span_note(compare, names)
            if note:
                st.info(note, icon=":material/straighten:")
            st.caption("Pre-activations of one hidden layer over training, on a fixed validation batch. Batch norm is "
                       "made to keep them centred with a steady spread (Ioffe & Szegedy 2015); without it their scale "
                       f"can drift as the weights change. Here, first → last: {probe_drift(compare, names)}."
                       + ("" if partner else " Train a run with batch norm the other way to see both side by side."))
