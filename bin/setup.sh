#!/usr/bin/env bash
# Installs everything runta needs on a fresh Debian 12 machine (as root) and builds it:
# runc, catatonit, debootstrap and lxcfs (runtimes' own view of /proc) from Debian, iproute2 and nftables for runtime networking, gcc and
# libc6-dev to build the runtimes' static init and exec agent (agent/runta-agent.c), the npm dependencies, the TypeScript build. With --test it also installs what the test suite drives (busybox-static for the small test
# image, tmux, curl, openssl for the network tests' HTTPS hosts, and Debian's chromium for the dashboard's browser
# tests, which playwright-core drives without downloading a browser) and what the Python SDK's tests need: Debian's
# python3 with venv, pip, setuptools, wheel, pytest and mypy, so that bin/test-python.sh installs ./python offline (no
# package index) and runs pytest.
# Idempotent: already-installed packages are skipped, so a second run takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "runta setup: runtimes need root (runc, cgroups, overlayfs) — run it as root, e.g. sudo bash bin/setup.sh" >&2
  exit 1
fi

pkgs=(runc catatonit debootstrap lxcfs tar gzip ca-certificates iproute2 nftables gcc libc6-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(busybox-static tmux curl procps openssl chromium python3 python3-venv python3-pip python3-setuptools python3-wheel python3-pytest python3-mypy)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "runta setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "runta setup: installing npm dependencies" >&2
  # `npm install`, not `npm ci`: this npm (11.x) leaves other platforms' optional packages (rollup's) out of the
  # lockfile and then refuses `npm ci` as out of sync. The lockfile still pins every version that is installed.
  npm install --no-audit --no-fund --loglevel=error
fi
echo "runta setup: building" >&2
npm run --silent build
