"""The LMDB environment of the cache: opening it safely, batched writes, prefix scans, growth,
eviction of the oldest pages, and rebuilding it when it is damaged. Tables: `tbs` (the records),
`pages` (every page a record spans, with when it was last written) and `spans` (records by the pages
after their first), keyed as aotc.persist.record describes.

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

from aotc.persist.record import key_page_keys, key_pc, page_key_parts
from aotc.persist.secure import check_cache, make_private_dir

ENV_NAME = "tb.lmdb"
FORMAT_FAMILY = b"aotc-tb-cache-"
FORMAT_TAG = FORMAT_FAMILY + b"2"
INITIAL_MAP = 32 << 20
DEFAULT_MAX_BYTES = 512 << 20
PROBE_ATTEMPTS = 5        # probes of a data file that keeps changing under us before we call it damaged
PROBE_PAUSE = 0.05
EVICT_TO = 0.75            # eviction frees space down to this fraction of the cap
_DBS = (b"tbs", b"pages", b"spans", b"meta")
_PAGE_VALUE = struct.Struct("<Q")
# errors that mean the file is damaged or not ours (others, like permissions, mean 'run without it')
DAMAGE = (lmdb.InvalidError, lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.VersionMismatchError,
          lmdb.PanicError, lmdb.BadTxnError)


def warn_stderr(message: str) -> None:
    print(f"aotc: warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Write:
    """One record to put (its key names the pages it is listed under)."""

    key: bytes
    value: bytes


class OtherFormat(Exception):
    """The environment is a cache of another aotc release's format: rebuilt without a warning."""


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
        """Open (creating it private) the environment; UnsafeCache if another user could change it."""
        try:
            make_private_dir(self.directory)
            check_cache(self.directory, self.path)
        except OSError as e:
            self.warn_once(f"cannot create it ({e.strerror}); running without it")
            return
        if self._mark() not in (None, self._read_mark()) and not self._probe_settled():
            self._rebuild("damaged data file")
        try:
            self._open_env()
        except OtherFormat:
            self._close_env()
            self._rebuild(None)         # made by an older (or newer) aotc: nothing in it is ours
            self._open_or_give_up()
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
        make_private_dir(self.path)
        self.env = lmdb.open(str(self.path), map_size=INITIAL_MAP, max_dbs=len(_DBS), max_readers=256,
                             metasync=False, readahead=False)
        self._dbs = {name: self.env.open_db(name) for name in _DBS}
        with self._begin(write=True, db=self._dbs[b"meta"]) as txn:
            tag = txn.get(b"format")
            if tag is None and self._empty(txn):
                txn.put(b"format", FORMAT_TAG)
            elif tag is not None and tag != FORMAT_TAG and tag.startswith(FORMAT_FAMILY):
                raise OtherFormat(tag)
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

    def _rebuild(self, why: str | None) -> None:
        """Set the damaged environment aside (atomically, other processes may race us) and delete it;
        `why` is the warning, None to rebuild quietly."""
        if why is not None:
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
                with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                    f.write(mark)
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

    def _begin(self, write: bool, db: object = None) -> lmdb.Transaction:
        """A transaction, after taking up the map size another process grew the map to."""
        try:
            return self.env.begin(write=write, db=db)
        except lmdb.MapResizedError:
            self.env.set_mapsize(0)
            return self.env.begin(write=write, db=db)

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
                            self._put(txn, w, stamp)
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

    def _put(self, txn: lmdb.Transaction, w: Write, stamp: bytes) -> None:
        """Put a record and list it under every page it spans."""
        txn.put(w.key, w.value, db=self._dbs[b"tbs"])
        first, *later = key_page_keys(w.key)
        txn.put(first, stamp, db=self._dbs[b"pages"])
        for page_key in later:
            txn.put(page_key, stamp, db=self._dbs[b"pages"])
            txn.put(page_key + w.key, b"", db=self._dbs[b"spans"])

    def live_bytes(self) -> int:
        """Bytes of LMDB pages holding live data (the file itself never shrinks; freed pages are reused)."""
        if self.env is None:
            return 0
        with self._begin(False) as txn:
            stats = [txn.stat(self._dbs[name]) for name in _DBS]
        return sum((s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * s["psize"] for s in stats)

    def evict(self, target: int) -> int:
        """Delete the TBs of the least recently written pages until about `target` bytes are live;
        return how many pages went. A page takes along every record listed under it: those starting
        in it and those reaching into it."""
        pages = sorted(self._all(b"pages"), key=lambda kv: _PAGE_VALUE.unpack(kv[1])[0])
        excess = self.live_bytes() - target
        gone = 0
        with self._begin(True) as txn:
            for page_key, _stamp in pages:
                if excess <= 0:
                    break
                excess -= sum(self._delete_record(txn, key) for key in self._listed_under(txn, page_key))
                txn.delete(page_key, db=self._dbs[b"pages"])
                gone += 1
        return gone

    def _listed_under(self, txn: lmdb.Transaction, page_key: bytes) -> list[bytes]:
        """The keys of the records listed under a page key."""
        prefix, page = page_key_parts(page_key)
        starting = [key for key in self._keys(txn, b"tbs", prefix) if key_pc(key) >> 12 == page]
        return starting + [key[len(page_key):] for key in self._keys(txn, b"spans", page_key)]

    def _keys(self, txn: lmdb.Transaction, table: bytes, prefix: bytes) -> list[bytes]:
        cur = txn.cursor(self._dbs[table])
        out = []
        if cur.set_range(prefix):
            for key in cur.iternext(values=False):
                if not key.startswith(prefix):
                    break
                out.append(key)
        return out

    def _delete_record(self, txn: lmdb.Transaction, key: bytes) -> int:
        """Delete a record and its span entries; return the bytes that freed (0 if it was gone)."""
        value = txn.get(key, db=self._dbs[b"tbs"])
        if value is None:
            return 0
        txn.delete(key, db=self._dbs[b"tbs"])
        for page_key in key_page_keys(key)[1:]:
            txn.delete(page_key + key, db=self._dbs[b"spans"])
        return len(key) + len(value)

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
            for name in (b"tbs", b"pages", b"spans"):
                txn.drop(self._dbs[name], delete=False)
        self._remember_mark()

    def close(self) -> None:
        self._close_env()
