#!/usr/bin/env bash
# The Python SDK's tests. Installs python/ the way a user would, offline: a virtualenv of Debian's python3 (whose
# setuptools, wheel and pytest come from apt: bin/setup.sh --test), then `pip install --no-build-isolation ./python`
# with no package index. Then pytest runs python/tests against a real daemon from dist/ (python/tests/conftest.py).
# Arguments go to pytest. pytest's exit 5 ("no tests collected") is a failure here, like any other non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=python/.venv
if ! /usr/bin/python3 -c 'import ensurepip, pytest, setuptools, wheel, mypy' 2>/dev/null; then
  echo "runta: the Python SDK's tests need Debian's python3 with venv, pytest, setuptools, wheel and mypy: bash bin/setup.sh --test" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install --quiet --no-index --no-build-isolation --no-deps --force-reinstall ./python
status=0
(cd python && exec "../$venv/bin/python" -m pytest "$@") || status=$?
if [ "$status" = 5 ]; then
  echo "runta: pytest collected no tests — that is a failure, not a pass" >&2
  status=1
fi
exit "$status"
