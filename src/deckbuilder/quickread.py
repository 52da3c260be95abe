"""Work a quick rebuild (quick.py) hands to a thread of its own, all of it work that lets
go of the GIL: reading, hashing and copying into SQLite the files it starts from while it
imports its loader and collection writer (6 ms of a 10,000-card rebuild, the imports
hold the GIL for 20), and hashing the new package and lock for the stamp while their
writes wait for the disk. Only reads, hashes and memory: a rebuild that stops early
leaves nothing to undo."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    import sqlite3

from .package import read_regular
from .stamp import digest
from .threads import start

MAX_FILE = 1 << 31
T = TypeVar("T")


class Read(NamedTuple):
    lock: bytes
    lock_digest: bytes
    package: bytes
    package_digest: bytes
    collection: bytes  # the last collection, kept in the cache folder (quickstate.py)
    collection_crc: int
    database: sqlite3.Connection  # a copy of it in memory, for this thread or another


class Later(Generic[T]):
    """``work(*args)`` run on a thread of its own, for work that lets go of the GIL (file
    reads, hashes, SQLite) while this thread does other things; ``result`` waits for it,
    and raises what it raised."""

    def __init__(self, work: Callable[..., T], *args: Any) -> None:
        self._done: tuple[T] | BaseException | None = None

        def run() -> None:
            try:
                self._done = (work(*args),)
            except BaseException as exc:  # raised again by result(), in the caller's thread
                self._done = exc

        self._thread = threading.Thread(target=run, name="deckbuilder-later", daemon=True)
        start(self._thread)

    def result(self) -> T:
        self._thread.join()
        done = self._done
        if isinstance(done, BaseException):
            raise done
        assert done is not None
        return done[0]


def read_last(lock: Path, package: Path, collection: Path) -> Read:
    """The lock, package and collection the last build left, with their digests (the
    caller compares them with the state's) and the collection copied into SQLite."""
    lock_data = read_regular(lock, MAX_FILE)
    lock_digest = digest(lock_data)
    package_data = read_regular(package, MAX_FILE)
    package_digest = digest(package_data)
    # Read, not mapped: a file another program cuts short under a mapping ends the
    # process (SIGBUS), for 1-2 ms saved.
    collection_data = read_regular(collection, MAX_FILE)
    crc = zlib.crc32(collection_data)
    import sqlite3  # (imported here, on this thread, while the other imports the rest)

    database = sqlite3.connect(":memory:", check_same_thread=False)
    database.deserialize(collection_data)
    return Read(lock_data, lock_digest, package_data, package_digest, collection_data, crc,
                database)


def digests(*items: bytes) -> list[bytes]:
    """Each item's SHA-256."""
    return [digest(item) for item in items]
