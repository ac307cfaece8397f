"""A download button for one model's weights, with a progress bar."""

from __future__ import annotations

import time

import streamlit as st

import pretrained

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
