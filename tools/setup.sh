#!/bin/sh
# Set up aotc on a fresh Debian machine (as root): system packages, the .venv with aotc installed,
# and the bundled example guest. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
need=""
for pkg in python3 python3-venv gcc gcc-multilib qemu-user binutils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q $need
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
mkdir -p build/examples
gcc -m32 -static -O2 -o build/examples/hello examples/hello.c
