#!/usr/bin/env bash
# Sets up .venv with the test tools, installs the Debian packages the tests
# use when missing (Chromium for the browser tests, Fashion-MNIST for the
# small trained models, the department's PostgreSQL, nginx and image tools),
# and runs every test offline.
# Extra arguments go to pytest, e.g. -k images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_venv.sh requirements-dev.txt
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
# The department tests: PostgreSQL (the replicas' shared store), nginx (their load balancer),
# podman and debootstrap (the image, built from the Dockerfile as a user would).
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/podman ] || missing+=(podman)
[ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
export VISION_EXPLORER_OFFLINE=1 HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
