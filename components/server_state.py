"""Everything the server keeps for all its sessions at once, in one place, each with its bound.

One process serves the whole class: what is here is shared by every session (so it is
thread-safe, and what it holds is never mutated by a page), and it is what a server's
memory grows with. Per-session state lives in `st.session_state`, in the modules that use
it. Streamlit's `st.cache_data` memos stay beside their functions: they hand each caller
its own copy, so no session can change what another sees through them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable

from streamlit import runtime

import pretrained
from app.serving import settings
from app.serving.background_jobs import BackgroundJob
from app.serving.bounded_cache import BoundedCache, model_bytes
from app.serving.compute_slots import ComputeSlots
from app.serving.workspace_work import WorkspaceWork
from app.workspace.stores import open_store

MODELS_MB = settings.MODELS_MB.read()
CACHE_MB = settings.CACHE_MB.read()

# Loaded registry models, frozen (eval, no grad). Bounded by the bytes of the weights, not by
# a count: the pages' defaults and the students' choices are five or more models in one
# lesson, and with four entries they evicted each other, so every page visit rebuilt one
# (measured with bench/load.py). 1536 MB holds all but the largest few at once (every model
# of the registry is 2.4 GB in float32).
MODEL_CACHE = BoundedCache(max_entries=len(pretrained.list_specs()), max_bytes=MODELS_MB * 2**20, sizeof=model_bytes)

# One feature extractor per model in MODEL_CACHE, under the same key. An extractor holds its
# model, so it goes when the model leaves that cache: VISION_EXPLORER_MODELS_MB bounds both.
FEATURE_EXTRACTORS = BoundedCache(max_entries=len(pretrained.list_specs()))

# The randomised twin of a model (the attributions' sanity check) is the same for every image
# and session. Two entries: at most two extra models (VGG16's is the largest, 0.5 GB).
RANDOMISED_MODELS = BoundedCache(max_entries=2)

# Per-image captures (CNN activations, ViT attention, Swin window attention), keyed by (page,
# what was fed, model, device, weights, settings). The byte budget is the real bound; the
# entry count only stops thousands of tiny captures.
CAPTURES = BoundedCache(max_entries=256, max_bytes=CACHE_MB * 2**20)

# A forward pass already uses every core torch gives it. When twenty sessions start theirs at
# once, the cores are shared twenty ways and a student who only moved a slider (a redraw of
# milliseconds) waits behind all of them; taking turns keeps redraws quick.
HEAVY_TURNS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))

# The one line for heavy background work: training runs, landscape grids and the deferred
# computations of every session.
SLOTS = ComputeSlots(settings.SLOTS.read())

# Background jobs on what no session owns (a shipped network, a registry model), so the class
# computes each once; components.deferred_work keeps the last SHARED_JOBS_KEPT that ended.
SHARED_JOBS: OrderedDict[Hashable, BackgroundJob] = OrderedDict()
SHARED_JOBS_LOCK = threading.Lock()
SHARED_JOBS_KEPT = 64  # each a line, a table or a few maps

# The optimizer race by its settings, and its figures. Figures are a few hundred kB each;
# nothing mutates them after they are built (st.plotly_chart copies them into its message),
# so one object serves every session.
RACES = BoundedCache(max_entries=64, sizeof=lambda _: 0)
RACE_FIGURES = BoundedCache(max_entries=48, sizeof=lambda _: 0)
# The pages' figures by what they show (the video page's pictures of a clip, the transformer
# page's four families), the same way: each holds a PNG of at most a megabyte or a few maps, so
# the entries bound the bytes.
PAGE_FIGURES = BoundedCache(max_entries=128, sizeof=lambda _: 0)

# The efficient-convolutions page's subjects, built once: RepVGG-A2 with settled batch norms
# (0.1 GB), RepLKNet's 31×31 + 5×5 pair on three channels, MobileNet v2 on the meta device.
EFFICIENT_BLOCKS = BoundedCache(max_entries=3)

# The project's three U-Nets trained on Fashion-MNIST scenes (0.5 M parameters each).
SEGMENTATION_MODELS = BoundedCache(max_entries=3)

# The project's five networks trained on Moving Fashion-MNIST (0.1 M parameters at most).
MOTION_MODELS = BoundedCache(max_entries=5)

# Training data by dataset name (Fashion-MNIST is 55 MB as float32), and the loss landscape's
# shipped networks with the evaluation split they were trained with, by device.
DATASETS = BoundedCache(max_entries=4)
SHIPPED_SPLITS = BoundedCache(max_entries=2)
SHIPPED_SUBJECTS = BoundedCache(max_entries=4)
# Measured seconds per landscape point, by network and grid size: a few floats each.
LANDSCAPE_POINT_TIMINGS = BoundedCache(max_entries=64)

# Students' workspaces: their images, choices and runs, on disk (VISION_EXPLORER_DATA) or, for
# several replicas, in PostgreSQL (VISION_EXPLORER_DATABASE_URL). At a server's start a run the
# store still marks as training whose process is gone (a crash, a kill) is interrupted; and
# workspaces unused for KEEP_DAYS go, with their files.
KEEP_DAYS = settings.KEEP_DAYS.read()
STORE = open_store(settings.DATABASE_URL.read(), settings.DATA_DIR.read(), settings.WORKSPACE_MB.read() << 20,
                   settings.STORE_MB.read() << 20)
STORE.interrupt_unfinished_runs()
STORE.remove_unused(KEEP_DAYS * 86400)


def _session_connected(session_id: str) -> bool:
    return runtime.exists() and runtime.get_instance().is_active_session(session_id)


# The runs this process trains, by workspace, with the owner they stop with (when no session of
# their workspace has been connected for the grace period).
WORKSPACE_WORK = WorkspaceWork(_session_connected, settings.DISCONNECT_GRACE_S.read())
# Runs read back from the store, which no process trains: they no longer change, so one object
# serves every session of the workspace (parsing a run's metrics once, not on every rerun).
STORED_RUNS = BoundedCache(max_entries=64)

# The project's small DETR trained on Fashion-MNIST detection scenes (0.6 M parameters), and the
# scenes its view shows (the first training batch and the test scenes, 4 MB).
DETECTION_MODELS = BoundedCache(max_entries=1)
DETECTION_SCENES = BoundedCache(max_entries=2)
