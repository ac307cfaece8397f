"""The compute device: the best one present, or the CPU if the user asks."""

from __future__ import annotations

import streamlit as st
import torch

from app.serving.devices import best_device, describe_device

_FORCE_CPU = "force_cpu"


def current_device() -> torch.device:
    return best_device(force_cpu=st.session_state.get(_FORCE_CPU, False))


def device_picker() -> None:
    sidebar = st.sidebar
    sidebar.subheader("Device")
    has_accelerator = best_device().type != "cpu"
    sidebar.toggle(
        "Force CPU",
        key=_FORCE_CPU,
        disabled=not has_accelerator,
        help="Run every model on the CPU even though a GPU is present."
        if has_accelerator
        else "No GPU found: everything runs on the CPU.",
    )
    sidebar.caption(f"Running on **{describe_device(current_device())}**")
