"""A zip of a package's entries, written here rather than by zipfile so that a big
entry can be deflated in two threads, read from its file a chunk at a time (never held
whole), and (under ``build --watch``) deflated again only where it changed; same entries,
same bytes."""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)

_PART = 1 << 20  # a file's CRC is read a megabyte at a time
_PARALLEL_DEFLATE = 1 << 20  # below a megabyte a second thread costs more than it saves
# An entry is deflated in chunks, each primed with the 32 KiB before it (deflate's window:
# as small as one stream, 0.2% smaller than two halves) and ended by a full flush: a chunk's
# output depends only on those bytes, so a rebuild reuses the chunks that did not change
# (one edit at 10,000 cards changed 6 of 81).
_CHUNK = 1 << 16
_WINDOW = 1 << 15
# Under `build --watch`: each entry's last bytes and their chunks, by name; None otherwise.
_last: dict[str, tuple[bytes, list[bytes]]] | None = None
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest a zip can say; time 00:00
# The last zip's entries: each one's length, CRC and deflated chunk sizes (quick.py keeps
# them for a rebuild in a fresh process, which then deflates only the chunks that changed).
written: dict[str, tuple[int, int, list[int]]] = {}


def zip_bytes(entries: list[tuple[str, bytes | Path]]) -> bytes:
    """A zip of ``entries`` (bytes, or a file), each deflated at level 1 (3x faster than
    6, a few % larger).

    Written here rather than by zipfile so that a big entry can be deflated in two
    threads (zlib lets go of the GIL): raw deflate streams, each but the last ended by a
    full flush, are one valid stream. The bytes depend on the entries alone."""
    import struct

    global _last
    # The pieces are joined once at the end: a growing buffer, then its copy as bytes,
    # held the package twice over (20 MB each at 100,000 cards).
    pieces: list[bytes] = []
    offset = 0
    central = bytearray()
    last, kept = _last or {}, {}
    written.clear()
    for name, data in entries:
        if isinstance(data, Path) and (_last is not None
                                       or data.stat().st_size < _PARALLEL_DEFLATE):
            data = data.read_bytes()  # small, or kept for the next zip under --watch anyway
        if isinstance(data, Path):
            length, crc, packed = _deflate_file(data)
        else:
            length, crc = len(data), zlib.crc32(data)
            packed = _deflate(data, last.get(name))  # in parts: joined once, below
            kept[name] = data, packed
        size = sum(map(len, packed))
        written[name] = length, crc, list(map(len, packed))
        if max(length, size, offset) >= 0xFFFF_FFFF:
            return _zipfile_bytes(entries)  # too big for a plain zip: zipfile writes Zip64
        encoded = name.encode()
        fields = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, _DOS_DATE, crc, size, length,
                             len(encoded))
        central += (b"PK\x01\x02" + struct.pack("<H", (3 << 8) | 20) + fields
                    + struct.pack("<HHHHII", 0, 0, 0, 0, 0o100644 << 16, offset) + encoded)
        header = b"PK\x03\x04" + fields + b"\x00\x00" + encoded
        pieces += (header, *packed)
        offset += len(header) + size
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                      len(central), offset, 0)
    pieces += (bytes(central), end)
    if _last is not None:
        _last = kept  # only this package's entries (memory stays one package's worth)
    return b"".join(pieces)


def keep_in_memory() -> None:
    """Deflate only the chunks of an entry that changed since the last zip (for
    ``build --watch``)."""
    global _last
    if _last is None:
        _last = {}


@contextlib.contextmanager
def primed(name: str, data: bytes, chunks: list[bytes]) -> Iterator[None]:
    """Zips inside start from an entry's last bytes and their deflated chunks (quick.py:
    a fresh process that kept them on disk), as if this process had zipped them."""
    global _last
    before = _last
    _last = {**(_last or {}), name: (data, chunks)}
    try:
        yield
    finally:
        _last = before


def _deflate(data: bytes, before: tuple[bytes, list[bytes]] | None = None) -> list[bytes]:
    """``data`` deflated in chunks (see _CHUNK); those whose bytes and window are as in
    ``before`` (an entry and its chunks) are taken from it. Below a megabyte, one stream
    (the bytes deckbuilder always wrote there: committed packages stay as they are)."""
    count = max(1, -(-len(data) // _CHUNK)) if len(data) >= _PARALLEL_DEFLATE else 1
    parts: list[bytes | None] = [None] * count
    if before is not None:
        old, old_parts = before
        for index in range(min(count, len(old_parts))):
            start = max(0, index * _CHUNK - _WINDOW)
            end = (index + 1) * _CHUNK if count > 1 else None  # one stream: all of it
            # The last chunk ends the stream, the others a flush: same place, same role.
            if (index == count - 1) == (index == len(old_parts) - 1) \
                    and data[start:end] == old[start:end]:
                parts[index] = old_parts[index]
    todo = [index for index, part in enumerate(parts) if part is None]
    view = memoryview(data)  # chunks without copies

    def raw(index: int) -> bytes:
        start = index * _CHUNK
        chunk = view[start:start + _CHUNK] if count > 1 else view
        return _chunk(chunk, view[max(0, start - _WINDOW):start], index, count)

    done = _each(raw, todo)
    for index, part in zip(todo, done, strict=True):
        parts[index] = part
    return [part for part in parts if part is not None]


def _deflate_file(path: Path) -> tuple[int, int, list[bytes]]:
    """A big file's length, CRC and the chunks ``_deflate`` makes of its bytes, each read
    with its window as it is deflated: the file is never held whole."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        length = os.fstat(fd).st_size
        count = max(1, -(-length // _CHUNK))

        def read(start: int, stop: int) -> bytes:
            data = b""
            while len(data) < stop - start:  # pread: two threads read one file at once
                part = os.pread(fd, stop - start - len(data), start + len(data))
                if not part:
                    raise OSError(f"{path} was cut short while it was read")
                data += part
            return data

        crc = 0
        for start in range(0, length, _PART):
            crc = zlib.crc32(read(start, min(start + _PART, length)), crc)

        def raw(index: int) -> bytes:
            start = index * _CHUNK
            return _chunk(read(start, min(start + _CHUNK, length)),
                          read(max(0, start - _WINDOW), start), index, count)

        return length, crc, _each(raw, list(range(count)))
    finally:
        os.close(fd)


def _chunk(chunk: bytes | memoryview, window: bytes | memoryview, index: int,
           count: int) -> bytes:
    """Chunk ``index`` of ``count`` deflated, primed with the ``window`` before it."""
    compressor = (zlib.compressobj(1, zlib.DEFLATED, -15, zdict=window) if index
                  else zlib.compressobj(1, zlib.DEFLATED, -15))
    return compressor.compress(chunk) + compressor.flush(
        zlib.Z_FINISH if index == count - 1 else zlib.Z_FULL_FLUSH)


def _each(raw: Callable[[int], bytes], todo: list[int]) -> list[bytes]:
    """``raw`` of each index, in order: in this thread and one more (zlib lets go of the
    GIL), each taking the next chunk left. A thread, not concurrent.futures, whose import
    (with logging) cost every build 3 ms."""
    if len(todo) * _CHUNK < _PARALLEL_DEFLATE:
        return [raw(index) for index in todo]
    import threading

    done: list[bytes] = [b""] * len(todo)
    left = iter(range(len(todo)))  # shared: each next() is one step under the GIL
    failed: list[BaseException] = []

    def work() -> None:
        try:
            for position in left:
                if failed:  # the other hand failed (or Ctrl-C): no use going on
                    return
                done[position] = raw(todo[position])
        except BaseException as exc:  # raised again below, in this thread
            failed.append(exc)

    helper = threading.Thread(target=work, name="deckbuilder-deflate", daemon=True)
    helper.start()
    try:
        work()
    finally:
        helper.join()
    if failed:
        raise failed[0]
    return done


def _zipfile_bytes(entries: list[tuple[str, bytes | Path]]) -> bytes:
    import io
    import zipfile  # only for Zip64 sizes, which the writer above leaves to it

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data.read_bytes() if isinstance(data, Path) else data,
                             compresslevel=1)
    return buffer.getvalue()
