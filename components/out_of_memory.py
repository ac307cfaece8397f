"""Out-of-memory during a model step: a message instead of a traceback, and the
session keeps working (other pages, smaller settings, the CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
import torch


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@contextmanager
def stop_on_out_of_memory(what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if not _is_out_of_memory(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        st.error(f"Not enough memory for {what}. Try a smaller model or setting, or force the CPU in the "
                 f"sidebar. ({type(exc).__name__})", icon=":material/memory:")
        st.stop()
