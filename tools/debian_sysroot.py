#!/usr/bin/env python3
"""Assemble a Debian i386 sysroot from packages, for running dynamically linked Debian programs.

    python3 tools/debian_sysroot.py [--dest DIR] [--sysroot ROOT] [PACKAGE...]

Each package (default: PACKAGES, what tests/e2e/test_debian_dynamic.py runs) is fetched and unpacked
by tools/debian_i386.py into DIR/<package>/ (DIR: build/debian), then all are merged into ROOT
(DIR/sysroot) laid out as Debian's merged /usr: /bin, /sbin and /lib are symlinks to usr/bin, usr/sbin
and usr/lib, and what a package ships under them goes under usr/. Absolute symlinks are made relative,
so that they stay inside ROOT when it is used as a plain directory. ROOT/etc/ld.so.cache is built by the
host's `ldconfig -X -r ROOT` (from ROOT/etc/ld.so.conf, written if missing), so that the sysroot's ld.so
finds the sysroot's libraries and never the host's. ROOT is rebuilt in one rename, and only when the
packages' versions differ from what it was built from. No dependency is resolved: list every library.
Nothing is installed into the host. Errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path


def _load_debian_i386():
    """Import tools/debian_i386.py, the fetcher, next to this file (tools/ is not a package)."""
    path = Path(__file__).resolve().parent / "debian_i386.py"
    spec = importlib.util.spec_from_file_location("debian_i386", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["debian_i386"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


debian_i386 = _load_debian_i386()
DEFAULT_DEST = debian_i386.DEFAULT_DEST
STAMP = ".debian-sysroot.json"  # inside the sysroot: {package: {version, sha256}} it was built from
MERGED = ("bin", "sbin", "lib")  # top-level directories that are symlinks into usr/ (Debian's usrmerge)
LD_SO_CONF = "include /etc/ld.so.conf.d/*.conf\n"

# The programs the tests run and every library they need (the Depends/Pre-Depends of bookworm's i386
# Packages index, followed by hand): libc6's own libgcc-s1 (pthread_cancel, backtrace) included; left
# out what holds no code a program loads: gcc-12-base (documents), readline-common (inputrc, for
# interactive use), dpkg and install-info (maintainer scripts).
PACKAGES = (
    "libc6", "libgcc-s1",
    "gzip",
    "bzip2", "libbz2-1.0",
    "xz-utils", "liblzma5",
    "sed", "libacl1", "libselinux1", "libpcre2-8-0",
    "grep",
    "gawk", "libgmp10", "libmpfr6", "libreadline8", "libsigsegv2", "libtinfo6",
    "bc",
    "lua5.4",
    "sqlite3", "libsqlite3-0", "zlib1g",
    "coreutils", "libattr1",
    "diffutils",
    "jq", "libjq1", "libonig5",
)


def merged_path(rel: Path) -> Path:
    """Where a package's path (relative to /) lives in a merged-/usr tree."""
    if rel.parts and rel.parts[0] in MERGED:
        return Path("usr", *rel.parts)
    return rel


def _relative_link(target: str, link_rel: Path) -> str:
    """An absolute symlink target made relative to the link's directory, both inside the sysroot."""
    resolved = merged_path(Path(target.lstrip("/")))
    return os.path.relpath(resolved, merged_path(link_rel).parent)


def merge_tree(tree: Path, root: Path) -> None:
    """Hard-link (or copy) every file of an unpacked package into `root` at its merged-/usr place."""
    for dirpath, dirnames, filenames in os.walk(tree):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            src = here / name
            rel = src.relative_to(tree)
            if rel.as_posix() == debian_i386.STAMP:
                continue
            if rel.as_posix() in MERGED and src.is_dir() and not src.is_symlink():
                continue  # its contents go under usr/ and the top-level name stays the symlink
            dst = root / merged_path(rel)
            if src.is_symlink():
                target = os.readlink(src)
                if target.startswith("/"):
                    target = _relative_link(target, rel)
                if dst.is_symlink() or dst.exists():
                    if dst.is_dir() and not dst.is_symlink():
                        continue  # a directory another package made real; keep it
                    dst.unlink()
                dst.symlink_to(target)
            elif src.is_dir():
                dst.mkdir(exist_ok=True)
            else:
                if dst.is_symlink() or dst.exists():
                    dst.unlink()  # the same file from two packages (Multi-Arch: same docs): last wins
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
        # os.walk does not descend into symlinked directories: nothing to do for them


def build_ld_cache(root: Path) -> None:
    """ROOT/etc/ld.so.cache from ROOT's own ld.so.conf, by the host's ldconfig chrooted into ROOT."""
    conf = root / "etc" / "ld.so.conf"
    conf.parent.mkdir(exist_ok=True)
    if not conf.exists():
        conf.write_text(LD_SO_CONF)
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    command = [ldconfig, "-X", "-r", str(root)]  # -X: the packages already ship their SONAME links
    if os.geteuid() != 0:  # ldconfig -r chroots: as another user, in a user namespace of our own
        command = ["unshare", "--map-root-user", *command]
    try:
        proc = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise debian_i386.FetchError(f"cannot run {command[0]}") from None
    if proc.returncode != 0 or not (root / "etc" / "ld.so.cache").is_file():
        why = proc.stderr.strip().splitlines()[-1:] or ["no etc/ld.so.cache written"]
        raise debian_i386.FetchError(f"{' '.join(command)}: {why[0]}")


def built_from(root: Path) -> dict[str, dict[str, str]] | None:
    """The packages (and versions) the sysroot at `root` was built from, or None."""
    try:
        return json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return None


def assemble(packages: Sequence[str], dest: Path, root: Path) -> None:
    """Merge dest/<package> for each package into a fresh tree, give it its ld.so.cache, rename it to root."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.") as tmp:
        fresh = Path(tmp) / "root"
        (fresh / "usr").mkdir(parents=True)
        for top in MERGED:
            (fresh / "usr" / top).mkdir()
            (fresh / top).symlink_to(f"usr/{top}")
        stamp = {}
        for package in packages:
            tree = dest / package
            merge_tree(tree, fresh)
            unpacked = debian_i386.unpacked_version(tree) or {}
            stamp[package] = {k: unpacked.get(k, "") for k in ("version", "sha256")}
        build_ld_cache(fresh)
        (fresh / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
        if root.is_symlink() or root.exists():
            root.rename(Path(tmp) / "old")
        fresh.rename(root)


def ensure(packages: Sequence[str] = PACKAGES, dest: Path = DEFAULT_DEST, root: Path | None = None) -> str:
    """Make `root` (dest/sysroot) the sysroot of exactly these packages at their newest versions."""
    root = root or dest / "sysroot"
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / ".sysroot.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers may run this at once
        debian_i386.ensure(packages, dest)
        wanted = {}
        for package in packages:
            unpacked = debian_i386.unpacked_version(dest / package) or {}
            wanted[package] = {k: unpacked.get(k, "") for k in ("version", "sha256")}
        if built_from(root) == wanted and (root / "etc" / "ld.so.cache").is_file():
            return f"sysroot {root}: {len(packages)} packages (cached)"
        assemble(packages, dest, root)
        return f"sysroot {root}: {len(packages)} packages (assembled)"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: fetch the packages and assemble the sysroot; one line of error and exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where to unpack (build/debian)")
    parser.add_argument("--sysroot", type=Path, help="the sysroot to assemble (DEST/sysroot)")
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help="default: what the tests run")
    args = parser.parse_args(argv)
    packages = list(dict.fromkeys(args.packages or PACKAGES))
    try:
        print(ensure(packages, args.dest, args.sysroot))
    except (debian_i386.FetchError, OSError, EOFError, ValueError) as exc:
        print(f"debian_sysroot: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
