#!/usr/bin/env bash
# The whole suite: vitest (unit, integration, e2e) and then the Python SDK's pytest (bin/test-python.sh). Both always
# run; the exit code is non-zero when either failed. Arguments go to vitest (.ci/run passes its reporters this way).
# Needs the build in dist/ (npm test and npm run test:ci build first).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
node_modules/.bin/vitest run "$@" || status=$?
bash bin/test-python.sh || status=$?
exit "$status"
