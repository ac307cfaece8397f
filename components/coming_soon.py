"""An honest placeholder for a page that is planned but not built yet."""

from __future__ import annotations

import streamlit as st


def coming_soon(title: str, purpose: str, planned: list[str]) -> None:
    st.title(title)
    st.info("**Not built yet.** This page is planned; nothing on it computes anything today.",
            icon=":material/construction:")
    st.markdown(purpose)
    st.markdown("What it will show:\n" + "\n".join(f"- {item}" for item in planned))
