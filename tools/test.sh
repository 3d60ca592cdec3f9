#!/bin/sh
# Set everything up, then run the whole test suite (lint first: a ruff finding fails the run).
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
# the Debian i386 packages tests/e2e/test_busybox.py runs (unpacked into build/debian/; kept when current)
.venv/bin/python tools/debian_i386.py busybox-static bash-static
# the Debian i386 sysroot tests/e2e/test_debian_dynamic.py runs programs through (build/debian/sysroot/)
.venv/bin/python tools/debian_sysroot.py
.venv/bin/ruff check aotc tests tools
.venv/bin/python -m pytest -q -n auto --durations=15 "$@"
