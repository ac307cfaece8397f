"""A download button for one model's weights, with a progress bar."""

from __future__ import annotations

import time

import streamlit as st

import pretrained
from components.models import loaded_model, untrained_banner

_FLASH = "weights_download_flash"


def show_download_result() -> None:
    """The message of a download that finished just before the rerun."""
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)


def download_button(spec: pretrained.ModelSpec, container=st) -> None:
    label = f"{spec.title} · {spec.weights.size_mb:.0f} MB"
    if container.button(label, key=f"download_{spec.name}", icon=":material/download:"):
        _download(spec)


def _download(spec: pretrained.ModelSpec) -> None:
    bar = st.progress(0.0, text=f"Downloading {spec.title}…")
    last_update = 0.0

    def progress(done: int, total: int | None) -> None:
        nonlocal last_update
        now = time.monotonic()
        if now - last_update < 0.2 and done != total:
            return
        last_update = now
        if total:
            bar.progress(done / total, text=f"{spec.title}: {done / 2**20:.0f} of {total / 2**20:.0f} MB")
        else:
            bar.progress(0.0, text=f"{spec.title}: {done / 2**20:.0f} MB")

    try:
        pretrained.download_weights(spec.weights, progress)
    except (pretrained.DownloadError, OSError) as exc:
        bar.empty()
        st.error(f"Could not download {spec.title}: {exc}")
        return
    st.session_state[_FLASH] = f"{spec.title}: weights downloaded and verified."
    st.rerun()


def shown_model(name: str) -> pretrained.LoadedModel:
    """The registry model `name` on the session's device, under the message of a download that
    just finished, the untrained banner when its weights are random and, where they can be
    fetched, the button that downloads them."""
    loaded = loaded_model(name)
    show_download_result()
    if untrained_banner(loaded) and pretrained.weights_status(loaded.spec) is pretrained.WeightsStatus.DOWNLOADABLE:
        download_button(loaded.spec)
    return loaded
