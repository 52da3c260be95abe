"""Write files the safe way: reproducible package bytes, atomic replacement."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import OutputError

_EPOCH = (1980, 1, 1, 0, 0, 0)


def package_bytes(collection: bytes, media: dict[str, Path]) -> bytes:
    """The .apkg: same input, same bytes, whatever the clock, time zone or umask."""
    buffer = io.BytesIO()
    names = sorted(media)
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "collection.anki2", collection)
        _add(archive, "media", json.dumps({str(i): name for i, name in enumerate(names)},
                                          separators=(",", ":")).encode())
        for index, name in enumerate(names):
            _add(archive, str(index), media[name].read_bytes())
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    archive.writestr(info, data, compresslevel=1)  # 3x faster than 6, a few % larger


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: readers see the old file or the new one,
    never a part, and a failure leaves the old file as it was."""
    with staged() as stage:
        stage(path, data)


@contextlib.contextmanager
def staged() -> Iterator[Callable[[Path, bytes], None]]:
    """Write several files so that a failure changes none of them.

    Each file is written in full to a temporary file beside it; only when all are
    written are they renamed into place. An error (a full disk, a read-only folder)
    or an interruption before that leaves every old file as it was and no temporary
    file behind.
    """
    ready: list[tuple[Path, Path]] = []  # (temporary, final)

    def stage(path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        ready.append((temporary, path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc

    try:
        yield stage
        for temporary, path in ready:
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        for temporary, _ in ready:
            with contextlib.suppress(OSError):
                temporary.unlink()
