#!/usr/bin/env bash
# Sets up .venv (first time only) and starts the app on http://localhost:8501.
# Extra arguments go to `streamlit run`, e.g. --server.port 8600.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_venv.sh requirements.txt
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
