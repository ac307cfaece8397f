"""The server's own clock for `bench/load.py`, which puts this folder on the app server's
PYTHONPATH (Python imports `sitecustomize` at start-up): one line per rerun request received
and per run end queued for the browser, `<session id> request|finished <time.monotonic()>`,
appended to $VISION_EXPLORER_BENCH_CLOCK. The bench reads it to time a layer change without
the twenty browsers on the same cores. Nothing of the app imports this."""

import os
import time

from streamlit.runtime.app_session import AppSession

_LOG = open(os.environ["VISION_EXPLORER_BENCH_CLOCK"], "a", buffering=1)  # open for the server's whole life
_handle_backmsg, _enqueue_forward_msg = AppSession.handle_backmsg, AppSession._enqueue_forward_msg


def _timed_handle_backmsg(self, msg):
    if msg.WhichOneof("type") == "rerun_script":
        _LOG.write(f"{self.id} request {time.monotonic()}\n")
    return _handle_backmsg(self, msg)


def _timed_enqueue_forward_msg(self, msg):
    if msg.WhichOneof("type") == "script_finished":
        _LOG.write(f"{self.id} finished {time.monotonic()}\n")
    return _enqueue_forward_msg(self, msg)


AppSession.handle_backmsg = _timed_handle_backmsg
AppSession._enqueue_forward_msg = _timed_enqueue_forward_msg
