"""A workspace's training runs: started here, trained in worker threads, written to the
workspace store as they train.

Runs belong to the workspace, not to the tab: nothing one workspace starts is seen or
stopped by another, and a reload (a new session on the same workspace) finds its runs still
training, or finished, or (after a server restart) interrupted with their curves so far.
Server-wide, runs share the compute slots of components.compute_slots with the
loss-landscape grids (the others wait in line, shown as queued); a workspace keeps its
last MAX_RUNS_KEPT runs and may have two active (an A/B pair). When no browser of the
workspace stays connected, its owner is gone and its runs stop by themselves ("interrupted").
"""

from __future__ import annotations

import re

import streamlit as st
from safetensors import SafetensorError

from app.training.augment import Augmentation, label_breaking_warning
from app.training.datasets import SOURCES, DatasetState, ImageData, Split, split
from app.training.journal import RunJournal
from app.training.loop import TrainingConfig
from app.training.records import DataChoice
from app.training.runs import TrainingRun
from app.training.stored_runs import StoredRun
from app.workspace.store import StoreFull
from components.device_picker import current_device
from components.server_state import DATASETS, SLOTS, STORE, STORED_RUNS, WORKSPACE_WORK
from components.workspace import workspace_id, writable_workspace_id
from pretrained.download import DownloadError

MAX_RUNS_KEPT = 10
MAX_ACTIVE_PER_WORKSPACE = 2
_SEEN_FINISHED = "_training_runs_seen_finished"
_UNREADABLE = "_training_runs_unreadable"  # label -> why its stored record could not be read


def loaded_dataset(name: str) -> ImageData:
    """The dataset `name` (on this machine), read once for the whole server."""
    return DATASETS.get(name, SOURCES[name].load)


def dataset(name: str) -> ImageData | None:
    """The dataset, once it is on this machine; otherwise its status and, where it
    can be downloaded, a button with a progress bar."""
    status = SOURCES[name].status()
    if status.state is DatasetState.READY:
        with st.spinner(f"Loading {name}…"):
            return loaded_dataset(name)
    if status.state is DatasetState.UNAVAILABLE:
        st.warning(f"{name} is unavailable: {status.detail}.")
        return None
    st.info(f"{name} is not on this machine yet ({status.detail}).")
    if st.button(f"Download {name}", icon=":material/download:", key=f"download_{name}"):
        bar = st.progress(0.0, text=f"Downloading {name}…")
        try:
            SOURCES[name].load(lambda done, total: bar.progress(min(1.0, done / total) if total else 0.0,
                                                                text=f"Downloading {name}…"))
        except (DownloadError, OSError, ValueError) as exc:
            bar.empty()
            st.error(f"Could not download {name}: {exc}")
            return None
        st.rerun()
    return None


def workspace_runs() -> list[TrainingRun | StoredRun]:
    """The workspace's runs, oldest first: those this server trains, live, and the others as
    the store keeps them. A record that cannot be read is left out and named by
    `unreadable_runs`; the rest are shown."""
    workspace = workspace_id()
    live = WORKSPACE_WORK.live(workspace)
    states = STORE.run_states(workspace)
    if any(status == "training" and label not in live for label, status, _ in states):
        # Trained elsewhere: by another replica, or by one that was killed (its runs are then
        # marked interrupted here, and the student may resume them on this one).
        if STORE.interrupt_unfinished_runs():
            states = STORE.run_states(workspace)
    runs, unreadable = [], {}
    for label, status, steps in states:
        if label in live:
            runs.append(live.pop(label))
            continue
        try:
            runs.append(STORED_RUNS.get((workspace, label, status, steps),
                                        lambda: StoredRun(STORE.run(workspace, label), _split_again, STORE.blob)))
        except (ValueError, KeyError, TypeError) as problem:
            unreadable[label] = f"{type(problem).__name__}: {problem}"
    st.session_state[_UNREADABLE] = unreadable
    return runs + list(live.values())  # and live runs the store could not take (it was full)


def unreadable_runs() -> dict[str, str]:
    return st.session_state.get(_UNREADABLE, {})


def _split_again(choice: DataChoice, seed: int) -> Split:
    return split(loaded_dataset(choice.dataset), choice.validation, seed, choice.subset, current_device())


def start_runs(configs: list[TrainingConfig], data: ImageData, validation: int, subset: int | None) -> str | None:
    """Starts one run per config, labelled "run N" in the order started; returns why
    not, in words, when it cannot."""
    runs = workspace_runs()
    active = [r for r in runs if r.snapshot().active]
    if len(active) + len(configs) > MAX_ACTIVE_PER_WORKSPACE:
        return f"At most {MAX_ACTIVE_PER_WORKSPACE} runs at a time per workspace: stop one first."
    if validation >= len(data.train_labels):
        return f"The validation set ({validation}) must be smaller than the {len(data.train_labels)} training images."
    workspace = writable_workspace_id()
    # Keep the newest runs, but never drop one that is still training.
    for old in [r for r in runs if not r.snapshot().active][:max(0, len(runs) + len(configs) - MAX_RUNS_KEPT)]:
        STORE.delete_run(workspace, old.label)
        WORKSPACE_WORK.forget(workspace, old.label)
    device = current_device()
    number = max([int(n) for r in runs if (n := _number(r.label))] + [0])
    not_kept = None
    for config in configs:
        number += 1
        label = f"run {number}"
        data_split = split(data, validation, config.seed, subset, device)
        choice = DataChoice(data.name, validation, subset, len(data_split.train_y), len(data_split.val_y))
        try:
            journal = RunJournal(STORE, workspace, label, config, choice)
        except StoreFull as full:
            journal, not_kept = None, f"{label} trains but is not kept for your next visit: {full}."
        run = TrainingRun(label, config, data_split, WORKSPACE_WORK.owner(workspace), SLOTS, journal).start()
        WORKSPACE_WORK.add(workspace, run)
    return not_kept


UNREADABLE = (OSError, ValueError, LookupError, SafetensorError)  # a stored file missing, damaged or not ours


def resume_run(run: StoredRun) -> tuple[str | None, str | None]:
    """Trains an interrupted run on from its newest resume point (or else its last checkpoint),
    under its label, with its curves so far; returns (why not, in words, when it cannot; what the student should know when it did)."""
    if sum(r.snapshot().active for r in workspace_runs()) >= MAX_ACTIVE_PER_WORKSPACE:
        return f"At most {MAX_ACTIVE_PER_WORKSPACE} runs at a time per workspace: stop one first.", None
    try:
        checkpoints = run.checkpoints()
    except UNREADABLE as damaged:
        return f"{run.label}'s checkpoints could not be read back ({damaged}): start it again instead.", None
    try:
        state = run.resume_state()
    except UNREADABLE as damaged:  # go on from the last checkpoint instead
        state = None
        note = f"{run.label}'s resume point could not be read back ({damaged}): it goes on from its last checkpoint."
    else:
        note = None
    if state is None and not checkpoints:
        return f"{run.label} has no checkpoint to go on from: start it again instead.", None
    step = state.step if state is not None else checkpoints[-1][0]
    history = run.history(step)
    workspace = writable_workspace_id()
    journal = RunJournal(STORE, workspace, run.label, run.config, run.choice, resumed=(step, history))
    resumed = TrainingRun(run.label, run.config, run.data, WORKSPACE_WORK.owner(workspace), SLOTS, journal,
                          resume_from=checkpoints, resume_state=state, history=history).start()
    WORKSPACE_WORK.add(workspace, resumed)
    return None, note


def _number(label: str) -> str | None:
    found = re.fullmatch(r"run (\d+)", label)
    return found.group(1) if found else None


def follow_newest_finished(key: str, finished: list[str]) -> None:
    """Points the run chooser `key` at a run that has just finished (the last of them,
    if several did); a choice made since the last one finished stays until the next."""
    seen = st.session_state.setdefault(_SEEN_FINISHED, set())
    new = [label for label in finished if label not in seen]
    if new:
        st.session_state[key] = new[-1]
        seen.update(new)


@st.cache_data(max_entries=32, show_spinner=False)
def augmentation_warning(name: str, flip: bool, rotation: float) -> str | None:
    """`label_breaking_warning` for the dataset `name` (measured once per setting)."""
    data = loaded_dataset(name)
    return label_breaking_warning(Augmentation(flip=flip, rotation=rotation), name, data.train_images,
                                  data.train_labels, data.classes)


def stop_all() -> None:
    for run in workspace_runs():
        run.stop()
