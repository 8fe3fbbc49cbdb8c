#!/usr/bin/env bash
# The README's first command: set up, then do the main job — create a runtime, run a command in it, list runtimes.
# The first run builds the default image (Debian bookworm + python3) with debootstrap, about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bin/setup.sh
runta() { node bin/runta.js "$@"; }
# A second run reuses "worker", booting it if it was shut down (boot of a running runtime is a no-op).
if runta inspect worker >/dev/null 2>&1; then runta boot worker >/dev/null; else runta run --name worker --cpus 2 --memory 2048; fi
runta exec worker -- sh -lc 'pwd && python3 --version'
runta ps -a
