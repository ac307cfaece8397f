"""The model zoo table and its download buttons."""

from __future__ import annotations

import streamlit as st

import pretrained
from components.weights_download import download_button, show_download_result
from pretrained.locations import OFFLINE_ENV, is_offline


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
    show_download_result()
    if is_offline():
        st.info(f"Offline mode ({OFFLINE_ENV}=1): downloads are switched off.")
        return
    downloadable = [row.spec for row in rows if row.status is pretrained.WeightsStatus.DOWNLOADABLE]
    if downloadable:
        st.markdown("**Download weights** (they are cached for every later session):")
        columns = st.columns(3)
        for i, spec in enumerate(downloadable):
            download_button(spec, columns[i % 3])
