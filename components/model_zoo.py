"""The model zoo table and its download buttons."""

from __future__ import annotations

import streamlit as st

import pretrained
from components.weights_download import download_button, show_download_result
from pretrained.locations import OFFLINE_ENV, is_offline


def zoo_table() -> None:
    """Every model, those whose weights are on this machine first; the table is as tall as its
    rows, so nothing hides behind a scroll bar inside it."""
    rows = pretrained.zoo_overview()
    ready = [row.spec.title for row in rows if row.status.is_here]
    st.markdown(
        f"**{len(ready)} of {len(rows)} models work on this machine now**, listed first: {', '.join(ready)}."
        if ready else f"**None of the {len(rows)} models has its weights on this machine yet.**"
    )
    st.dataframe(
        [row.as_dict() for row in rows],
        hide_index=True,
        width="stretch",
        height="content",
        column_config={
            "About": st.column_config.TextColumn(width="large"),
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
