"""The files a quick rebuild (quick.py) starts from, read and hashed on a thread of their
own while the rebuild imports its loader and its collection writer: file reads, SHA-256,
CRC-32 and SQLite's copy of the last collection let go of the GIL, imports hold it (6 ms
of a 10,000-card rebuild, when a second core is free). Only reads and memory: a rebuild
that stops early leaves nothing to undo."""

from __future__ import annotations

import mmap
import os
import stat
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import sqlite3

from .package import read_regular
from .stamp import digest

_MAX_FILE = 1 << 31


class Read(NamedTuple):
    lock: bytes
    lock_digest: bytes
    package: bytes
    package_digest: bytes
    collection: mmap.mmap  # the last collection, kept in the cache folder (quickstate.py)
    collection_crc: int
    database: sqlite3.Connection  # a copy of it in memory, for this thread or another


def mapped(path: Path) -> mmap.mmap:
    """A regular file's bytes, mapped read-only (never through a symlink), for a file of
    megabytes read once: the pages the system holds already, where a read copies them
    into memory the process touches for the first time (2 ms for a 5 MB collection).
    Only for deckbuilder's own files while it holds the deck's build lock: a file cut
    short under a mapping would end the process."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        found = os.fstat(fd)
        if not (stat.S_ISREG(found.st_mode) and 0 < found.st_size < _MAX_FILE):
            raise OSError(f"{path} is not a file deckbuilder wrote")
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


class Reading:
    """The reads under way; ``result`` waits for them, and raises what they raised."""

    def __init__(self, lock: Path, package: Path, collection: Path) -> None:
        self._paths = lock, package, collection
        self._done: Read | BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="deckbuilder-read",
                                        daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            lock, package, collection = self._paths
            lock_data = read_regular(lock, _MAX_FILE)
            lock_digest = digest(lock_data)
            package_data = read_regular(package, _MAX_FILE)
            package_digest = digest(package_data)
            collection_data = mapped(collection)
            crc = zlib.crc32(collection_data)
            import sqlite3

            database = sqlite3.connect(":memory:", check_same_thread=False)
            database.deserialize(collection_data)
            self._done = Read(lock_data, lock_digest, package_data, package_digest,
                              collection_data, crc, database)
        except BaseException as exc:  # raised again by result(), in the rebuild's thread
            self._done = exc

    def result(self) -> Read:
        self._thread.join()
        done = self._done
        if isinstance(done, BaseException):
            raise done
        assert done is not None
        return done
