#!/usr/bin/env python3
"""Fetch Debian i386 packages for the tests without touching the host's apt or dpkg state.

    python3 tools/debian_i386.py [--dest DIR] PACKAGE...

The mirror comes from the host's apt sources (sources.list, sources.list.d/*.list, deb822 *.sources):
each `deb` entry for the host's codename, -updates or -security with `main`. Per suite, InRelease is
checked with gpgv against the entry's Signed-By keyring, the i386 Packages index (cached in DIR/.index)
against InRelease, and each package's newest .deb against the index's SHA256 and size; it is unpacked
with `dpkg-deb -x` into DIR/<package>/ (DIR: build/debian), kept if already there at that version.
No dependency is resolved. Errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import json
import lzma
import platform
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "build" / "debian"
ARCH = "i386"
COMPONENT = "main"
STAMP = ".debian-i386.json"  # inside each unpacked tree: what was unpacked there
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
TIMEOUT = 120.0
INDEX_FIELDS = ("Package", "Version", "Filename", "SHA256")  # then Size: Candidate's fields


class FetchError(Exception):
    """A failure that is reported as one line."""


class NetworkError(FetchError):
    """The mirror could not be reached, or answered with an error."""


@dataclass(frozen=True)
class Source:
    """One suite of one mirror, from an apt source entry."""

    uri: str
    suite: str
    components: tuple[str, ...]
    keyring: str


@dataclass(frozen=True)
class Candidate:
    """One version of a package as listed in a Packages index."""

    package: str
    version: str
    filename: str
    sha256: str
    size: int
    source: Source


def host_codename() -> str:
    """The host's release codename (bookworm), from os-release."""
    codename = platform.freedesktop_os_release().get("VERSION_CODENAME")
    if not codename:
        raise FetchError("no VERSION_CODENAME in /etc/os-release")
    return codename


def _wants_i386(arches: str | None) -> bool:
    """Whether an entry restricted to `arches` (space or comma separated) serves i386."""
    return arches is None or ARCH in arches.replace(",", " ").split()


def parse_one_line(text: str) -> Iterator[Source]:
    """The entries of a one-line-style sources.list: `deb [opt=val ...] URI SUITE COMPONENT...`."""
    for raw in text.splitlines():
        match = re.match(r"\s*deb\s+(?:\[([^]]*)\]\s*)?(\S+)\s+(\S+)\s+([^#]+)", raw)
        if match:
            options = dict(o.partition("=")[::2] for o in (match[1] or "").split())
            if _wants_i386(options.get("arch")):
                keyring = options.get("signed-by", DEFAULT_KEYRING)
                yield Source(match[2], match[3], tuple(match[4].split()), keyring)


def parse_deb822(text: str) -> Iterator[Source]:
    """The entries of a deb822 .sources file (Types, URIs, Suites, Components, Signed-By...)."""
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in (line for line in stanza.splitlines() if not line.startswith("#")):
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        enabled = fields.get("enabled", "yes").lower() != "no" and _wants_i386(fields.get("architectures"))
        if not enabled or "deb" not in fields.get("types", "").split():
            continue
        keyring = fields.get("signed-by", DEFAULT_KEYRING)
        if "\n" in keyring or not keyring.startswith("/"):  # an inline key or a fingerprint
            keyring = DEFAULT_KEYRING
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                yield Source(uri, suite, tuple(fields.get("components", "").split()), keyring)


def host_sources(apt_dir: Path = Path("/etc/apt"), codename: str | None = None) -> list[Source]:
    """The host's apt entries for its codename, -updates and -security with the main component."""
    codename = codename or host_codename()
    suites = {codename, f"{codename}-updates", f"{codename}-security"}
    found: list[Source] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in [*files, *sorted((apt_dir / "sources.list.d").glob("*.sources"))]:
        if path.is_file():
            parse = parse_deb822 if path.suffix == ".sources" else parse_one_line
            found.extend(parse(path.read_text(errors="replace")))
    chosen = [s for s in found if s.suite in suites and COMPONENT in s.components and s.uri[:4] == "http"]
    if not chosen:
        raise FetchError(f"no apt source for {codename} with component {COMPONENT} under {apt_dir}")
    return list(dict.fromkeys(chosen))


def download(url: str) -> bytes:
    """The body at `url`; NetworkError on any failure."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise NetworkError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:  # DNS, refused, reset, timeout
        raise NetworkError(f"{url}: {getattr(exc, 'reason', exc)}") from None


def _dist_url(source: Source, path: str) -> str:
    """The URL of `path` under the suite's dists/ directory."""
    return f"{source.uri.rstrip('/')}/dists/{source.suite}/{path}"


def release_hashes(source: Source) -> tuple[dict[str, tuple[str, int]], bool]:
    """The suite's signed InRelease, checked with gpgv: {path: (sha256, size)}, and Acquire-By-Hash."""
    signed = download(_dist_url(source, "InRelease"))
    gpgv = ["gpgv", "--keyring", source.keyring, "--output", "-", "-"]
    try:
        proc = subprocess.run(gpgv, input=signed, capture_output=True)
    except FileNotFoundError:
        raise FetchError("gpgv is not installed (it checks the mirror's signature)") from None
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["bad signature"]
        raise FetchError(f"{_dist_url(source, 'InRelease')}: signature check failed: {why[0]}")
    hashes: dict[str, tuple[str, int]] = {}
    by_hash = in_sha256 = False
    for line in proc.stdout.decode(errors="replace").splitlines():
        if not line.startswith(" "):
            in_sha256 = line.strip() == "SHA256:"
            by_hash = by_hash or line.strip().lower() == "acquire-by-hash: yes"
        elif in_sha256 and len(line.split()) == 3:
            digest, size, path = line.split()
            hashes[path] = (digest, int(size))
    return hashes, by_hash


def sha256(data: bytes) -> str:
    """The hex SHA256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def packages_index(source: Source, cache: Path) -> bytes:
    """The suite's uncompressed i386 Packages index for main, checked against InRelease and cached."""
    hashes, by_hash = release_hashes(source)
    base = f"{COMPONENT}/binary-{ARCH}"
    for name, decompress in (("Packages.xz", lzma.decompress), ("Packages.gz", gzip.decompress)):
        path = f"{base}/{name}"
        if path not in hashes:
            continue
        digest, size = hashes[path]
        cached = cache / urllib.parse.quote(f"{source.uri}_{source.suite}_{path}", safe="")
        data = cached.read_bytes() if cached.is_file() else b""
        if sha256(data) != digest:
            data = download(_dist_url(source, f"{base}/by-hash/SHA256/{digest}" if by_hash else path))
            if len(data) != size or sha256(data) != digest:
                raise FetchError(f"{_dist_url(source, path)}: does not match InRelease")
            cache.mkdir(exist_ok=True)
            cached.write_bytes(data)  # under ensure()'s lock; a torn file fails its hash next time
        return decompress(data)
    raise FetchError(f"{_dist_url(source, 'InRelease')}: lists no {base}/Packages.xz or .gz")


def candidates(index: bytes, wanted: set[str], source: Source) -> Iterator[Candidate]:
    """Every stanza of a Packages index whose package is in `wanted`."""
    for stanza in index.split(b"\n\n"):
        if not stanza.startswith(b"Package: ") or stanza[9 : stanza.find(b"\n")].decode() not in wanted:
            continue
        lines = stanza.decode(errors="replace").splitlines()
        fields = dict((k, v.strip()) for k, _, v in (x.partition(":") for x in lines if x[:1] != " "))
        try:
            yield Candidate(*(fields[k] for k in INDEX_FIELDS), int(fields["Size"]), source)
        except (KeyError, ValueError):
            raise FetchError(f"malformed index entry for {fields.get('Package')} in {source.suite}") from None


def newer(a: str, b: str) -> bool:
    """Whether Debian version `a` is greater than `b` (dpkg's rules)."""
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def unpacked_version(tree: Path) -> dict[str, str] | None:
    """What the stamp of an unpacked tree records, or None."""
    try:
        return json.loads((tree / STAMP).read_text())
    except (OSError, ValueError):
        return None


def unpack(candidate: Candidate, dest: Path) -> None:
    """Download the .deb, check it against the index, and unpack it to dest/<package> in one rename."""
    url = f"{candidate.source.uri.rstrip('/')}/{candidate.filename}"
    data = download(url)
    if len(data) != candidate.size or sha256(data) != candidate.sha256:
        raise FetchError(f"{url}: size or SHA256 differs from the index")
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{candidate.package}.") as tmp:
        deb, tree = Path(tmp) / "package.deb", Path(tmp) / "tree"
        deb.write_bytes(data)
        try:
            proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], capture_output=True)
        except FileNotFoundError:
            raise FetchError("dpkg-deb is not installed") from None
        if proc.returncode != 0:
            raise FetchError(f"dpkg-deb -x {url}: {proc.stderr.decode(errors='replace').strip()}")
        stamp = {"version": candidate.version, "sha256": candidate.sha256, "url": url}
        (tree / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
        target = dest / candidate.package
        if target.exists():
            target.rename(Path(tmp) / "old")
        tree.rename(target)


def ensure(packages: Sequence[str], dest: Path = DEFAULT_DEST, apt_dir: Path = Path("/etc/apt")) -> list[str]:
    """Make dest/<package> hold the newest i386 version of each package; one report line per package."""
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers may run this at once
        sources = host_sources(apt_dir)
        best: dict[str, Candidate] = {}
        try:
            for source in sources:
                for cand in candidates(packages_index(source, dest / ".index"), set(packages), source):
                    if cand.package not in best or newer(cand.version, best[cand.package].version):
                        best[cand.package] = cand
        except NetworkError as exc:
            kept = {p: unpacked_version(dest / p) or {} for p in packages}
            if not all(kept.values()):
                raise
            print(f"debian_i386: warning: {exc}; keeping what is unpacked", file=sys.stderr)
            return [f"{p} {k.get('version')} {dest / p} (offline)" for p, k in kept.items()]
        missing = [p for p in packages if p not in best]
        if missing:
            suites = ", ".join(s.suite for s in sources)
            raise FetchError(f"not in the {ARCH} index of {suites}: {', '.join(missing)}")
        report = []
        for package in packages:
            cand, tree = best[package], dest / package
            stamp = unpacked_version(tree)
            fresh = not stamp or stamp.get("version") != cand.version or stamp.get("sha256") != cand.sha256
            if fresh:
                unpack(cand, dest)
            report.append(f"{package} {cand.version} {tree} ({'fetched' if fresh else 'cached'})")
        return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: fetch and unpack the packages named; one line of error and exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where to unpack (build/debian)")
    parser.add_argument("packages", nargs="+", metavar="PACKAGE")
    args = parser.parse_args(argv)
    try:
        for line in ensure(list(dict.fromkeys(args.packages)), args.dest):
            print(line)
    except (FetchError, OSError, lzma.LZMAError, EOFError, gzip.BadGzipFile) as exc:
        print(f"debian_i386: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
