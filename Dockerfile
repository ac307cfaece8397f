# Vision Explorer. CPU by default; the torch wheel from requirements.txt carries
# CUDA too, so `docker run --gpus all` uses a GPU where the host has one.
# For a CUDA base image: docker build --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 .
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TORCH_HOME=/opt/weights/torch \
    HF_HOME=/opt/weights/huggingface

# curl for the health check; Python itself where the base image has none (CUDA bases).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && if ! command -v python3 >/dev/null; then \
         apt-get install -y --no-install-recommends python3 python3-venv; fi \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The same setup step as the README's command (scripts/run_app.sh), in its own layer.
COPY requirements.txt ./
COPY scripts/ scripts/
RUN scripts/setup_venv.sh requirements.txt

COPY . .
# Bake every weight file that can be fetched now; what cannot is reported (fetch then
# exits 1), and those models show the untrained banner at run time.
RUN .venv/bin/python -m pretrained.fetch --all \
    || echo "Some weights could not be fetched (listed above): those models will run untrained."

ENV VISION_EXPLORER_OFFLINE=1 \
    HF_HUB_OFFLINE=1 \
    VISION_EXPLORER_DATA=/data
RUN useradd --create-home --uid 10001 explorer \
    && mkdir /data && chown 10001 /data
USER 10001
# The students' workspaces (SQLite and files): a volume, so they outlive the container.
VOLUME /data

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["curl", "--fail", "--silent", "http://localhost:8501/_stcore/health"]
CMD ["scripts/run_app.sh", "--server.address=0.0.0.0", "--server.port=8501"]
