#!/usr/bin/env bash
# Sets up .venv (first time only) and starts the app on http://localhost:8501.
# Extra arguments go to `streamlit run`, e.g. --server.port 8600.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_venv.sh requirements.txt
# Refuse to start on a bad setting (named, with its range) rather than serve pages that fail.
.venv/bin/python -m app.serving.settings
# Every session's script thread would get its own malloc arena, each keeping freed memory:
# with twenty students the server grew 1.56x after the first one; with two arenas 1.29x
# and no slower (bench/load.py).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/python -m components.server_launch "$@"
