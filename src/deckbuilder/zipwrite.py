"""A zip of a package's entries, written here rather than by zipfile so that a big
entry can be deflated in two threads; same entries, same bytes."""

from __future__ import annotations

import io
import zipfile

_EPOCH = (1980, 1, 1, 0, 0, 0)

_PARALLEL_DEFLATE = 1 << 20  # below a megabyte a second thread costs more than it saves
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest a zip can say; time 00:00


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``entries``, each deflated at level 1 (3x faster than 6, a few % larger).

    Written here rather than by zipfile so that a big entry can be deflated in two
    threads (zlib lets go of the GIL): two raw deflate streams, the first ended by a
    full flush, are one valid stream. The bytes depend on the entries alone."""
    import struct
    import zlib

    # The pieces are joined once at the end: a growing buffer, then its copy as bytes,
    # held the package twice over (20 MB each at 100,000 cards).
    pieces: list[bytes] = []
    offset = 0
    central = bytearray()
    for name, data in entries:
        packed = _deflate(data)
        size = sum(map(len, packed))
        if max(len(data), size, offset) >= 0xFFFF_FFFF:
            return _zipfile_bytes(entries)  # too big for a plain zip: zipfile writes Zip64
        encoded = name.encode()
        fields = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, _DOS_DATE, zlib.crc32(data),
                             size, len(data), len(encoded))
        central += (b"PK\x01\x02" + struct.pack("<H", (3 << 8) | 20) + fields
                    + struct.pack("<HHHHII", 0, 0, 0, 0, 0o100644 << 16, offset) + encoded)
        header = b"PK\x03\x04" + fields + b"\x00\x00" + encoded
        pieces += (header, *packed)
        offset += len(header) + size
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                      len(central), offset, 0)
    pieces += (bytes(central), end)
    return b"".join(pieces)


def _deflate(data: bytes) -> list[bytes]:
    import zlib

    def raw(part: memoryview, last: bool) -> bytes:
        compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
        return compressor.compress(part) + compressor.flush(
            zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)

    view = memoryview(data)  # halves without copies
    if len(data) < _PARALLEL_DEFLATE:
        return [raw(view, True)]
    from concurrent.futures import ThreadPoolExecutor

    half = len(data) // 2
    with ThreadPoolExecutor(1) as other:
        second = other.submit(raw, view[half:], True)
        return [raw(view[:half], False), second.result()]


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
