"""The cache of a running guest, in a thread with a descriptor table of its own.

LMDB keeps descriptors open (data file, lock file) under numbers aotc cannot choose, and a guest sees
the descriptor table of the process's main thread (/proc/self/fd is the group leader's). So for
`aotc run` the CacheDB lives in a thread that first unshares its file table (unshare(CLONE_FILES)),
closes every descriptor of the copy and puts /dev/null on 0, 1 and 2: LMDB's descriptors exist only
there, the guest cannot see, close or dup2 over them, and a fork of the main thread does not inherit
them. Calls are passed to the thread in order; writes do not wait for the commit. The thread blocks
every signal, so signals for the guest reach the main thread. Warnings are printed by the caller, on
the main thread, where stderr is the guest's fd 2.
"""

from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aotc.exec.hostsig import block_all_signals
from aotc.persist.db import CacheDB, Write, warn_stderr

CLONE_FILES = 0x400
SYS_CLOSE_RANGE = 436
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _private_file_table() -> None:
    """Give the calling thread a file table of its own holding only /dev/null on 0, 1 and 2."""
    if _libc.unshare(CLONE_FILES) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_FILES) failed")
    if _libc.syscall(SYS_CLOSE_RANGE, 0, 0xFFFFFFFF, 0) != 0:
        for name in os.listdir("/proc/thread-self/fd"):
            try:
                os.close(int(name))
            except OSError:
                pass
    for _ in range(3):
        os.open(os.devnull, os.O_RDWR)


class CacheWorker:
    """A CacheDB's scan/write/warn_once/close, run by a thread with a private descriptor table."""

    def __init__(self, directory: Path, warn: Callable[[str], None] = warn_stderr) -> None:
        self._warn = warn
        self._warnings: list[str] = []
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        started: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, args=(directory.absolute(), started),
                                        name="aotc-cache", daemon=True)
        self._thread.start()
        self.path, failure = started.get()
        self._flush_warnings()
        if failure is not None:
            self._thread.join()
            raise failure

    # -- the thread ----------------------------------------------------------------------------

    def _serve(self, directory: Path, started: queue.SimpleQueue) -> None:
        block_all_signals()
        try:
            _private_file_table()
            db = CacheDB(directory, warn=self._warnings.append)
        except Exception as e:       # noqa: BLE001 - the caller re-raises it on its own thread
            started.put((directory / "tb.lmdb", e))
            return
        started.put((db.path, None))
        while True:
            name, args, reply = self._requests.get()
            try:
                result, error = getattr(db, name)(*args), None
            except Exception as e:   # noqa: BLE001 - passed back to the caller
                result, error = None, e
            if reply is not None:
                reply.put((result, error))
            if name == "close":
                return

    # -- the caller's side ---------------------------------------------------------------------

    def _call(self, name: str, *args: Any, wait: bool = True) -> Any:
        if self._closed:
            return None
        reply: queue.SimpleQueue | None = queue.SimpleQueue() if wait else None
        self._requests.put((name, args, reply))
        if reply is None:
            return None
        result, error = reply.get()
        self._flush_warnings()
        if error is not None:
            raise error
        return result

    def _flush_warnings(self) -> None:
        while self._warnings:
            self._warn(self._warnings.pop(0))

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """CacheDB.scan, in the cache thread."""
        return self._call("scan", prefix)

    def write(self, writes: Iterable[Write]) -> None:
        """CacheDB.write, queued: the commit happens in the cache thread while the caller goes on."""
        self._call("write", list(writes), wait=False)

    def warn_once(self, message: str) -> None:
        """CacheDB.warn_once, printed here."""
        self._call("warn_once", message)

    def close(self) -> None:
        """Wait for every queued write, then close the environment and end the thread."""
        self._call("close")
        self._closed = True
        self._thread.join()
        sys.stderr.flush()
