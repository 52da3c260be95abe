"""A zip of a package's entries, written here rather than by zipfile so that a big
entry can be deflated in two threads, and (under ``build --watch``) only where it changed;
same entries, same bytes."""

from __future__ import annotations

import io
import zipfile

_EPOCH = (1980, 1, 1, 0, 0, 0)

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


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``entries``, each deflated at level 1 (3x faster than 6, a few % larger).

    Written here rather than by zipfile so that a big entry can be deflated in two
    threads (zlib lets go of the GIL): raw deflate streams, each but the last ended by a
    full flush, are one valid stream. The bytes depend on the entries alone."""
    import struct
    import zlib

    global _last
    out = bytearray()
    central = bytearray()
    last, kept = _last or {}, {}
    for name, data in entries:
        # in parts: joined, a big entry would be copied once more
        packed = _deflate(data, last.get(name))
        kept[name] = data, packed
        size = sum(map(len, packed))
        if max(len(data), size, len(out)) >= 0xFFFF_FFFF:
            return _zipfile_bytes(entries)  # too big for a plain zip: zipfile writes Zip64
        encoded = name.encode()
        fields = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, _DOS_DATE, zlib.crc32(data),
                             size, len(data), len(encoded))
        central += (b"PK\x01\x02" + struct.pack("<H", (3 << 8) | 20) + fields
                    + struct.pack("<HHHHII", 0, 0, 0, 0, 0o100644 << 16, len(out)) + encoded)
        out += b"PK\x03\x04" + fields + b"\x00\x00" + encoded
        for part in packed:
            out += part
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                      len(central), len(out), 0)
    out += central
    out += end
    if _last is not None:
        _last = kept  # only this package's entries (memory stays one package's worth)
    return bytes(out)


def keep_in_memory() -> None:
    """Deflate only the chunks of an entry that changed since the last zip (for
    ``build --watch``)."""
    global _last
    if _last is None:
        _last = {}


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
        import zlib

        start = index * _CHUNK
        window = view[max(0, start - _WINDOW):start]
        compressor = (zlib.compressobj(1, zlib.DEFLATED, -15, zdict=window) if index
                      else zlib.compressobj(1, zlib.DEFLATED, -15))
        chunk = view[start:start + _CHUNK] if count > 1 else view
        return compressor.compress(chunk) + compressor.flush(
            zlib.Z_FINISH if index == count - 1 else zlib.Z_FULL_FLUSH)

    if len(todo) * _CHUNK < _PARALLEL_DEFLATE:
        done = [raw(index) for index in todo]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:  # zlib lets go of the GIL
            done = list(pool.map(raw, todo))
    for index, part in zip(todo, done, strict=True):
        parts[index] = part
    return [part for part in parts if part is not None]


def _zipfile_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data, compresslevel=1)
    return buffer.getvalue()
