"""The LMDB environment of the cache: opening it safely, batched writes, prefix scans, growth,
eviction of the oldest pages, and rebuilding it when it is damaged.

LMDB trusts its file: a scribbled B-tree page can crash a reader. So a data file that changed since
it was last known good (by inode, size and mtime; our own commits keep that mark up to date) is first
walked end to end in a forked child; if the child fails or dies, the cache is set aside and rebuilt.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import lmdb

ENV_NAME = "tb.lmdb"
FORMAT_TAG = b"aotc-tb-cache-1"
INITIAL_MAP = 32 << 20
DEFAULT_MAX_BYTES = 512 << 20
PROBE_ATTEMPTS = 5        # probes of a data file that keeps changing under us before we call it damaged
PROBE_PAUSE = 0.05
EVICT_TO = 0.75            # eviction frees space down to this fraction of the cap
_DBS = (b"tbs", b"pages", b"meta")
_PAGE_VALUE = struct.Struct("<Q")
# errors that mean the file is damaged or not ours (others, like permissions, mean 'run without it')
DAMAGE = (lmdb.InvalidError, lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.VersionMismatchError,
          lmdb.PanicError, lmdb.BadTxnError)


def warn_stderr(message: str) -> None:
    print(f"aotc: warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Write:
    """One record to put: its key and value, and the page entry (key) it belongs to."""

    key: bytes
    value: bytes
    page_key: bytes


class CacheDB:
    """One cache directory's LMDB environment; every failure degrades to 'no cache', never a crash."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 warn: Callable[[str], None] = warn_stderr) -> None:
        self.directory = directory
        self.path = directory / ENV_NAME
        self.max_bytes = max_bytes
        self._warn = warn
        self._warned = False
        self.env: lmdb.Environment | None = None
        self._dbs: dict[bytes, object] = {}
        self._good_mark: str | None = None
        self._open()

    # -- opening, probing, rebuilding -----------------------------------------------------------

    def warn_once(self, message: str) -> None:
        """Warn about the cache on stderr, once per process."""
        if not self._warned:
            self._warned = True
            self._warn(f"translation cache {self.path}: {message}")

    def _open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.warn_once(f"cannot create it ({e.strerror}); running without it")
            return
        if self._mark() not in (None, self._read_mark()) and not self._probe_settled():
            self._rebuild("damaged data file")
        try:
            self._open_env()
        except DAMAGE as e:
            self._close_env()
            self._rebuild(f"damaged or not a cache ({e})")
            self._open_or_give_up()
        except (lmdb.Error, OSError) as e:
            self._close_env()
            self.warn_once(f"cannot open it ({e}); running without it")

    def _open_or_give_up(self) -> None:
        try:
            self._open_env()
        except (lmdb.Error, OSError) as e:
            self._close_env()
            self.warn_once(f"cannot open it ({e}); running without it")

    def _open_env(self) -> None:
        self.path.mkdir(exist_ok=True)
        self.env = lmdb.open(str(self.path), map_size=INITIAL_MAP, max_dbs=len(_DBS), max_readers=256,
                             metasync=False, readahead=False)
        self._dbs = {name: self.env.open_db(name) for name in _DBS}
        with self.env.begin(write=True, db=self._dbs[b"meta"]) as txn:
            tag = txn.get(b"format")
            if tag is None and self._empty(txn):
                txn.put(b"format", FORMAT_TAG)
            elif tag != FORMAT_TAG:
                raise lmdb.InvalidError(f"wrong format {tag!r}")
        self._remember_mark()

    def _empty(self, txn: lmdb.Transaction) -> bool:
        return all(txn.stat(self._dbs[name])["entries"] == 0 for name in _DBS)

    def _close_env(self) -> None:
        if self.env is not None:
            self.env.close()
        self.env = None
        self._dbs = {}

    def _rebuild(self, why: str) -> None:
        """Set the damaged environment aside (atomically, other processes may race us) and delete it."""
        self.warn_once(f"{why}; rebuilding it")
        self._close_env()
        aside = self.path.with_name(f"{ENV_NAME}.damaged.{os.getpid()}")
        try:
            self.path.rename(aside)
        except OSError:
            return
        shutil.rmtree(aside, ignore_errors=True)

    def _mark(self) -> str | None:
        """Identity of the data file as it is now (None if there is none)."""
        try:
            st = os.stat(self.path / "data.mdb")
        except OSError:
            return None
        return f"{st.st_ino} {st.st_size} {st.st_mtime_ns}"

    def _read_mark(self) -> str | None:
        try:
            return (self.path / "good").read_text()
        except OSError:
            return None

    def _remember_mark(self) -> None:
        mark = self._mark()
        if mark is not None and mark != self._read_mark():
            tmp = self.path / f"good.{os.getpid()}"
            try:
                tmp.write_text(mark)
                tmp.replace(self.path / "good")
            except OSError:
                return
        self._good_mark = mark

    def _probe_settled(self) -> bool:
        """Probe the data file; a failure counts only if the file did not change meanwhile. Another
        run may be creating the environment or committing to it right now, which can fail a probe
        for a moment; damage stays."""
        for _ in range(PROBE_ATTEMPTS):
            mark = self._mark()
            if self._probe():
                return True
            time.sleep(PROBE_PAUSE)
            if self._mark() == mark:
                return False
        return False

    def _probe(self) -> bool:
        """Walk every key and value of the data file in a forked child; True if it came through.

        The child takes LMDB's reader lock, so a write another process commits meanwhile cannot show
        it half-written pages (which would pass for damage)."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                env = lmdb.open(str(self.path), readonly=True, max_dbs=len(_DBS))
                with env.begin() as txn:
                    for name in _DBS:
                        try:
                            db = env.open_db(name, txn=txn, create=False)
                        except lmdb.NotFoundError:
                            continue        # not created yet: a fresh cache another run is filling
                        for _key, value in txn.cursor(db):
                            bytes(value)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    # -- reading and writing ----------------------------------------------------------------------

    def _begin(self, write: bool) -> lmdb.Transaction:
        try:
            return self.env.begin(write=write)
        except lmdb.MapResizedError:
            self.env.set_mapsize(0)
            return self.env.begin(write=write)

    def failed(self, e: lmdb.Error) -> None:
        """An LMDB error while running: rebuild a damaged cache and carry on, else carry on without it."""
        if isinstance(e, DAMAGE):
            self._rebuild(f"damaged ({e})")
            self._open_or_give_up()
        else:
            self._close_env()
            self.warn_once(f"error ({e}); running without it")

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Every (key, value) of the TB table whose key starts with `prefix`."""
        if self.env is None:
            return []
        try:
            with self._begin(False) as txn:
                cur = txn.cursor(self._dbs[b"tbs"])
                out = []
                if cur.set_range(prefix):
                    for key, value in cur:
                        if not key.startswith(prefix):
                            break
                        out.append((key, value))
                return out
        except lmdb.Error as e:
            self.failed(e)
            return []

    def items(self, table: bytes = b"tbs") -> list[tuple[bytes, bytes]]:
        """Every (key, value) of one table (for inspect and eviction)."""
        return self.scan(b"") if table == b"tbs" else self._all(table)

    def _all(self, table: bytes) -> list[tuple[bytes, bytes]]:
        if self.env is None:
            return []
        try:
            with self._begin(False) as txn:
                return list(txn.cursor(self._dbs[table]))
        except lmdb.Error as e:
            self.failed(e)
            return []

    def write(self, writes: Iterable[Write]) -> None:
        """Put records and touch their pages in one transaction, growing the map when it is full."""
        writes = list(writes)
        if self.env is None or not writes:
            return
        trusted = self._mark() == self._good_mark
        stamp = _PAGE_VALUE.pack(time.time_ns())
        try:
            for _ in range(16):
                try:
                    with self._begin(True) as txn:
                        for w in writes:
                            txn.put(w.key, w.value, db=self._dbs[b"tbs"])
                            txn.put(w.page_key, stamp, db=self._dbs[b"pages"])
                    break
                except lmdb.MapFullError:
                    self.env.set_mapsize(self.env.info()["map_size"] * 2)
            if self.live_bytes() > self.max_bytes:
                self.evict(int(self.max_bytes * EVICT_TO))
        except lmdb.Error as e:
            self.failed(e)
            return
        if trusted:
            self._remember_mark()

    def live_bytes(self) -> int:
        """Bytes of LMDB pages holding live data (the file itself never shrinks; freed pages are reused)."""
        if self.env is None:
            return 0
        with self._begin(False) as txn:
            stats = [txn.stat(self._dbs[name]) for name in _DBS]
        return sum((s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * s["psize"] for s in stats)

    def evict(self, target: int) -> int:
        """Delete the TBs of the least recently written pages until about `target` bytes are live;
        return how many pages went. A page key is a TB key prefix plus the page number."""
        pages = sorted(self._all(b"pages"), key=lambda kv: _PAGE_VALUE.unpack(kv[1])[0])
        excess = self.live_bytes() - target
        gone = 0
        with self._begin(True) as txn:
            cur = txn.cursor(self._dbs[b"tbs"])
            for page_key, _stamp in pages:
                if excess <= 0:
                    break
                prefix, page = page_key[:-4], struct.unpack(">I", page_key[-4:])[0]
                doomed = []
                if cur.set_range(prefix):
                    for key, value in cur:
                        if not key.startswith(prefix):
                            break
                        if struct.unpack(">I", key[-4:])[0] >> 12 == page:
                            doomed.append(key)
                            excess -= len(key) + len(value)
                for key in doomed:
                    txn.delete(key, db=self._dbs[b"tbs"])
                txn.delete(page_key, db=self._dbs[b"pages"])
                gone += 1
        return gone

    def stats(self) -> dict[str, int | str]:
        """What `aotc cache stats` shows."""
        data = self.path / "data.mdb"
        return {"path": str(self.path), "records": len(self.items()), "pages": len(self._all(b"pages")),
                "live_bytes": self.live_bytes(), "file_bytes": data.stat().st_size if data.exists() else 0,
                "max_bytes": self.max_bytes}

    def clear(self) -> None:
        """Empty the cache (every version's records)."""
        if self.env is None:
            return
        with self._begin(True) as txn:
            for name in (b"tbs", b"pages"):
                txn.drop(self._dbs[name], delete=False)
        self._remember_mark()

    def close(self) -> None:
        self._close_env()
