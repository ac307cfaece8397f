"""Live training: train a small network here and watch batch norm, dropout and augmentation change the curves."""

import dataclasses

import streamlit as st

from app.augment import Augmentation, label_breaking_warning
from app.devices import describe_device
from app.training import OPTIMIZERS, SCHEDULES, TrainingConfig
from app.training_data import SOURCES
from app.training_figures import (
    augmentation_figure,
    confusion_figure,
    curves_figure,
    difference_labels,
    probe_figure,
    run_table,
    wrong_images_figure,
)
from app.training_models import MODELS
from components.compute_slots import queue_notice
from components.device_picker import current_device
from components.training_session import dataset, session_runs, start_runs, stop_all

# What an A/B pair changes, from the settings above.
AB_CHANGES = {
    "batch norm": lambda c: dataclasses.replace(c, batch_norm=not c.batch_norm),
    "dropout 0.5": lambda c: dataclasses.replace(c, dropout=0.5 if c.dropout != 0.5 else 0.0),
    "augmentation": lambda c: dataclasses.replace(
        c, augmentation=Augmentation() if c.augmentation.active else Augmentation(crop=2, rotation=10, noise=0.05)),
    "optimizer: SGD": lambda c: dataclasses.replace(c, optimizer="SGD", learning_rate=0.05),
    "width ×2": lambda c: dataclasses.replace(c, width=c.width * 2),
    "skip connections": lambda c: dataclasses.replace(c, skip_connections=not c.skip_connections),
}

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
    model = st.selectbox("Network", MODELS, key="train_model")
    batch_norm = st.toggle("Batch norm", key="train_bn")
    skip_connections = st.toggle("Skip connections", True, key="train_skips", disabled=model != "Small ResNet",
                                 help="The small ResNet's shortcuts; without them it is a plain network.")
    dropout = st.slider("Dropout p", 0.0, 0.8, 0.0, 0.1, key="train_dropout")
    width = st.select_slider("Width", [0.5, 1.0, 2.0], 1.0, key="train_width")
with optim_col:
    st.markdown("**Optimization**")
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index("Adam"), key="train_optimizer")
    learning_rate = st.number_input("Learning rate", 1e-6, 1e6, 1e-3, format="%.5f", key="train_lr",
                                    help="Try something absurd, like 1000000, to watch a run diverge.")
    schedule = st.selectbox("Schedule", SCHEDULES, key="train_schedule")
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
    warning = label_breaking_warning(augmentation, name)
    if warning:
        st.warning(warning)
    if data is not None:
        st.plotly_chart(augmentation_figure(data.train_images[:16].float() / 255, data.train_labels[:16],
                                            data.classes, augmentation, int(seed)), width="stretch",
                        key="aug_preview")
        st.caption("Sixteen training images as the network will see them (a new draw every step).")

config = TrainingConfig(model=model, batch_norm=batch_norm, dropout=dropout, width=width,
                        skip_connections=skip_connections, optimizer=optimizer,
                        learning_rate=learning_rate, schedule=schedule, batch_size=batch_size, epochs=int(epochs),
                        weight_decay=weight_decay, seed=int(seed), augmentation=augmentation)
subset = 1000 if small else None
start_col, ab_col, ab_button_col, stop_col = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
change = ab_col.selectbox("A/B pair differing in", list(AB_CHANGES), key="train_ab")
message = None
if start_col.button("Start", type="primary", icon=":material/play_arrow:", disabled=data is None, key="train_start"):
    message = start_runs([config], data, validation, subset, [f"run {len(session_runs()) + 1}"])
if ab_button_col.button("Start A/B", icon=":material/compare:", disabled=data is None, key="train_start_ab"):
    first = len(session_runs()) + 1
    message = start_runs([config, AB_CHANGES[change](config)], data, validation, subset,
                         [f"run {first}", f"run {first + 1}"])
if stop_col.button("Stop all", icon=":material/stop:", key="train_stop"):
    stop_all()
if message:
    st.warning(message)

active = any(run.snapshot().active for run in session_runs())


@st.fragment(run_every=1.0 if active else None)
def live_view() -> None:
    runs = session_runs()
    if not runs:
        st.info("No runs yet: choose settings and press Start (or an A/B pair).")
        return
    snapshots = [run.snapshot() for run in runs]
    labels = [f"{s.label}: {d}" for s, d in zip(snapshots, difference_labels([s.config for s in snapshots]))]
    for snapshot, label in zip(snapshots, labels):
        if snapshot.problem:
            st.error(f"{label} stopped: {snapshot.problem}")
    st.caption(" · ".join(f"{label}: **{s.status}**, epoch {s.steps[-1].epoch:.2f}" if s.steps else
                          f"{label}: **{s.status}**" for s, label in zip(snapshots, labels)))
    queue_notice([s.status for s in snapshots])
    smoothing = st.slider("Smoothing (debiased EMA, as TensorBoard)", 0.0, 0.99, 0.6, 0.01, key="train_smoothing")
    loss_col, accuracy_col = st.columns(2)
    loss_col.plotly_chart(curves_figure(snapshots, labels, "loss", smoothing), width="stretch", key="train_loss")
    accuracy_col.plotly_chart(curves_figure(snapshots, labels, "accuracy", smoothing), width="stretch",
                              key="train_accuracy")
    st.dataframe(run_table(snapshots, labels), hide_index=True, width="stretch")
    if any(s.active for s in snapshots) != active:
        st.rerun()  # a run ended or began: the whole page redraws (buttons, end-of-run views)


live_view()

finished = [(run.snapshot(), run) for run in session_runs() if run.snapshot().result is not None]
if finished:
    st.subheader("After the run")
    labels = dict(zip([s.label for s, _ in finished], difference_labels([s.config for s, _ in finished])))
    chosen = st.selectbox("Run", [s.label for s, _ in finished], index=len(finished) - 1, key="train_after",
                          format_func=lambda l: f"{l}: {labels[l]}")
    snapshot, run = next((s, r) for s, r in finished if s.label == chosen)
    tabs = st.tabs(["Confusion matrix", "Most confidently wrong", "Batch norm's probe"])
    with tabs[0]:
        st.plotly_chart(confusion_figure(snapshot.result.confusion, run.data.classes), width="stretch",
                        key="train_confusion")
    with tabs[1]:
        if snapshot.result.wrong:
            st.plotly_chart(wrong_images_figure(run.data.val_x, snapshot.result.wrong, run.data.classes),
                            width="stretch", key="train_wrong")
        else:
            st.success("No validation image is misclassified.")
    with tabs[2]:
        others = [s for s, _ in finished if s.label != chosen]
        compare = [snapshot] + [s for s in others if s.config.batch_norm != snapshot.config.batch_norm][:1]
        columns = st.columns(len(compare))
        peak = max(float((h.counts / max(h.counts.sum(), 1)).max()) for s in compare for h in s.histograms)
        for column, shown in zip(columns, compare):
            column.plotly_chart(probe_figure(shown, f"{shown.label}: batch norm {'on' if shown.config.batch_norm else 'off'}",
                                             peak), width="stretch", key=f"probe_{shown.label}")
        st.caption("Pre-activations of one hidden layer over training, on a fixed validation batch. With batch norm "
                   "they stay centred with unit spread; without, their scale drifts as the weights change.")
