#!/usr/bin/env bash
# Builds the runtimes' init and exec agent (runta-agent.c) as one static binary at dist/runta-agent, with Debian's
# gcc and glibc's static libc (packages gcc and libc6-dev; bin/setup.sh installs them). Without a compiler the build
# goes on and says so: the daemon then boots runtimes with catatonit and execs through runc exec, as before the agent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/runta-agent
src=agent/runta-agent.c
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
if ! command -v gcc >/dev/null; then
  echo "runta build: gcc not found, the exec agent is not built (runtimes use catatonit and runc exec); install it with: apt-get install gcc libc6-dev" >&2
  exit 0
fi
mkdir -p dist
gcc -static -O2 -Wall -Wextra -o "$out.tmp" "$src"
strip "$out.tmp"
mv "$out.tmp" "$out"
