"""torch.fx traces in a server whose other threads keep running models.

To trace a model, torch.fx replaces `torch.nn.Module.__call__` and `__getattr__` for the whole
process until the trace ends (torch/fx/_symbolic_trace.py, Tracer.trace). A forward in any other
thread meanwhile, another student's capture or a training run, enters the tracer: it fails
("module is not installed as a submodule", "OrderedDict mutated during iteration") or is
recorded into the graph being traced. Seen here: two students opening Feature maps on a fresh
replica at once (tests/test_replicas.py); upstream, pytorch/pytorch#126024. Until torch keeps a
trace to its own thread, `isolate_traces()` does: the replaced methods act as the tracer only in
the tracing thread and as before in every other, and traces take turns (one trace's end would
otherwise restore the methods under another's feet).
"""

from __future__ import annotations

import functools
import threading

import torch
from torch.fx import _symbolic_trace

_TRACES = threading.RLock()  # re-entrant: a trace may trace a submodule inside it
_installed = False
_install_guard = threading.Lock()


def _in_this_thread_only(tracing, before):
    """`tracing` when called from this thread, `before` from any other."""
    tracing_thread = threading.get_ident()

    @functools.wraps(tracing)
    def method(*args, **kwargs):
        if threading.get_ident() == tracing_thread:
            return tracing(*args, **kwargs)
        return before(*args, **kwargs)

    return method


def _patch_for_this_thread(patch_method):
    @functools.wraps(patch_method)
    def patch(self, cls, name, new_fn, deduplicate=True):
        if cls is torch.nn.Module:
            return patch_method(self, cls, name, _in_this_thread_only(new_fn, getattr(cls, name)), deduplicate)
        return patch_method(self, cls, name, new_fn, deduplicate)

    return patch


def _one_at_a_time(trace):
    @functools.wraps(trace)
    def one_trace(*args, **kwargs):
        with _TRACES:
            return trace(*args, **kwargs)

    return one_trace


def isolate_traces() -> None:
    """Keeps every torch.fx trace of this process to its own thread (idempotent)."""
    global _installed
    with _install_guard:
        if _installed:
            return
        _symbolic_trace._Patcher.patch_method = _patch_for_this_thread(_symbolic_trace._Patcher.patch_method)
        torch.fx.Tracer.trace = _one_at_a_time(torch.fx.Tracer.trace)
        _installed = True
