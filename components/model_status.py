"""The sidebar's one-line summary of which weights are on this machine."""

from __future__ import annotations

from collections import Counter

import streamlit as st

import pretrained
from pretrained.locations import OFFLINE_ENV, is_offline


def model_status() -> None:
    counts = Counter(pretrained.weights_status(s).value for s in pretrained.list_specs())
    st.sidebar.subheader("Models")
    parts = [f"{counts[s.value]} {s.value}" for s in pretrained.WeightsStatus if counts[s.value]]
    st.sidebar.caption(" · ".join(parts))
    if is_offline():
        st.sidebar.caption(f"Offline mode ({OFFLINE_ENV}=1): nothing is downloaded.")
