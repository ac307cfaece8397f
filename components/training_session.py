"""A session's training runs: started here, trained in worker threads, kept in session state.

Runs are per session: nothing one browser starts is seen or stopped by another.
Server-wide, runs share the compute slots of components.compute_slots with the
loss-landscape grids (the others wait in line, shown as queued); a session keeps its
last MAX_RUNS_KEPT runs and may have two active (an A/B pair). When the session's state
is dropped or its browser stays disconnected, its owner is gone and its runs stop by
themselves.
"""

from __future__ import annotations

import streamlit as st

from app.training.augment import Augmentation, label_breaking_warning
from app.training.datasets import SOURCES, DatasetState, ImageData, split
from app.training.loop import TrainingConfig
from app.training.runs import TrainingRun
from components.device_picker import current_device
from components.server_state import DATASETS, SLOTS
from components.session_owner import session_owner
from pretrained.download import DownloadError

MAX_RUNS_KEPT = 6
MAX_ACTIVE_PER_SESSION = 2
_RUNS = "training_runs"
_STARTED = "training_runs_started"  # runs ever started here: labels stay unique when old runs are dropped
_SEEN_FINISHED = "training_runs_seen_finished"


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


def session_runs() -> list[TrainingRun]:
    return st.session_state.setdefault(_RUNS, [])


def start_runs(configs: list[TrainingConfig], data: ImageData, validation: int, subset: int | None) -> str | None:
    """Starts one run per config, labelled "run N" in the order started; returns why
    not, in words, when it cannot."""
    runs = session_runs()
    active = [r for r in runs if r.snapshot().active]
    if len(active) + len(configs) > MAX_ACTIVE_PER_SESSION:
        return f"At most {MAX_ACTIVE_PER_SESSION} runs at a time per session: stop one first."
    if validation >= len(data.train_labels):
        return f"The validation set ({validation}) must be smaller than the {len(data.train_labels)} training images."
    device = current_device()
    for config in configs:
        st.session_state[_STARTED] = st.session_state.get(_STARTED, 0) + 1
        data_split = split(data, validation, config.seed, subset, device)
        runs.append(TrainingRun(f"run {st.session_state[_STARTED]}", config, data_split, session_owner(),
                                SLOTS).start())
    # Keep the newest runs, but never drop one that is still training.
    while len(runs) > MAX_RUNS_KEPT and not runs[0].snapshot().active:
        runs.pop(0)
    return None


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
    for run in session_runs():
        run.stop()
