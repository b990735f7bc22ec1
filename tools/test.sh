#!/usr/bin/env bash
# The whole suite as CI runs it (.ci/run ends with this): notebooks and tests, smoke-sized, on both cores, without the
# `extended` learning runs. pytest-xdist's --dist loadfile keeps each notebook's cells (one kernel) and each test
# module on one worker; --no-loadscope-reorder keeps tests/conftest.py's order, the longest modules first.
# Extra arguments go to pytest: `bash tools/test.sh --durations=25 -rs`.
set -euo pipefail
cd "$(dirname "$0")/.."
GAN_MNIST_SMOKE=1 exec python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not extended" --nbval-lax \
  "$@" notebooks tests
