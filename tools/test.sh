#!/bin/sh
# Set everything up, then run the whole test suite (lint first: a ruff finding fails the run).
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
.venv/bin/ruff check aotc tests tools
.venv/bin/python -m pytest -q -n auto --durations=15 "$@"
