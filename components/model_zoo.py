"""The model zoo table and its download buttons, with progress."""

from __future__ import annotations

import time

import streamlit as st

import pretrained
from pretrained.locations import OFFLINE_ENV, is_offline

_FLASH = "zoo_flash"


def zoo_table() -> None:
    rows = pretrained.zoo_overview()
    st.dataframe(
        [row.as_dict() for row in rows],
        hide_index=True,
        width="stretch",
        column_config={
            "Parameters (M)": st.column_config.NumberColumn(format="%.1f"),
            "Size (MB)": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    st.caption(
        "**offline-ready**: in a local folder or a package · **cached**: downloaded before · "
        "**downloadable**: fetched on request · **untrained**: no weights reachable, the model "
        "runs with random weights and says so on every page."
    )
    _download_buttons([row.spec for row in rows if row.status is pretrained.WeightsStatus.DOWNLOADABLE])


def _download_buttons(specs: list[pretrained.ModelSpec]) -> None:
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    if is_offline():
        st.info(f"Offline mode ({OFFLINE_ENV}=1): downloads are switched off.")
        return
    if not specs:
        return
    st.markdown("**Download weights** (they are cached for every later session):")
    columns = st.columns(3)
    for i, spec in enumerate(specs):
        label = f"{spec.title} · {spec.weights.size_mb:.0f} MB"
        if columns[i % 3].button(label, key=f"download_{spec.name}", icon=":material/download:"):
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
