"""Write files the safe way: reproducible package bytes, fresh temporaries, atomic replacement.

Every file deckbuilder writes starts as a new file under a random name, created with
O_EXCL and O_NOFOLLOW: a name planted in advance (a symlink committed to a deck
repository) can neither redirect the write nor be overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import OutputError
from .threads import HELD

JOURNAL = ".deckbuilder-journal"
_JOURNAL_HEAD = "deckbuilder journal 1"
_JOURNAL_END = "end"
_MAX_JOURNAL = 1 << 20


def package_bytes(collection: bytes | Path, media: dict[str, Path],
                  digests: dict[str, bytes] | None = None) -> bytes:
    """The .apkg: same input, same bytes, whatever the clock, time zone or umask.

    ``digests`` receives each media file's path and the SHA-256 of the bytes packed (the
    build stamp records what was packed, not what the file holds a moment later)."""
    import hashlib

    from .zipwrite import zip_bytes  # not on validate's path (zipfile alone is 2.4 ms)

    names = sorted(media)
    entries: list[tuple[str, bytes | Path]] = [
        ("collection.anki2", collection),  # a file is read (and deflated) a part at a time
        ("media", json.dumps({str(i): name for i, name in enumerate(names)},
                             separators=(",", ":")).encode())]
    for index, name in enumerate(names):
        data = media[name].read_bytes()
        if digests is not None:
            digests[str(media[name])] = hashlib.sha256(data).digest()
        entries.append((str(index), data))
    return zip_bytes(entries)


def create_exclusive(folder: Path, prefix: str, owned: list[Path]) -> tuple[int, Path]:
    """A new, empty file ``folder/.<prefix>.<16 random hex digits>.tmp``, open for writing,
    its path appended to ``owned`` (the caller removes what ``owned`` lists).

    O_EXCL|O_NOFOLLOW: whatever already has the name (a file, a planted symlink) makes
    the open fail instead of being followed or truncated; a fresh random name is then
    tried. The mode is 0o666 less the umask, as for any new file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        path = folder / f".{prefix}.{os.urandom(8).hex()}.tmp"
        with signals_held():
            try:
                fd = os.open(path, flags, 0o666)
            except FileExistsError:
                continue
            owned.append(path)
            return fd, path
    raise FileExistsError(17, "no free temporary name", str(folder))


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM (which the CLI turns into KeyboardInterrupt) for a few
    instructions: between creating a file and recording it, or between a rename and
    counting it, an interruption would leave a temporary nobody knows about."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def scratch_collection(deck_id: str) -> str:
    """The prefix of a build's scratch collections: named by the deck, so that the next
    build of that deck, under its build lock, may remove what a killed one left beside
    the package (another deck's build may be using the same folder)."""
    return f"{deck_id}.db"


def temporary_pattern(name: str) -> re.Pattern[str]:
    """The names ``create_exclusive(folder, name)`` gives, and only those."""
    return re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{16}}\.tmp")


def read_regular(path: Path, limit: int) -> bytes:
    """A regular file's bytes, never through a symlink (to /dev/zero, a pipe), at most
    ``limit`` of them (OSError otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError("too large")
    return data


def remove_leftovers(lock: Path, out_dir: Path, deck_id: str) -> None:
    """Temporaries of this deck's lock, packages and scratch collections (with SQLite's
    journal beside one) that a killed build (kill -9, a power cut) left; the journal's
    were renamed into place by ``recover`` already. Under the deck's build lock no other
    build is writing them (a package name starts with its deck id and holds no other
    deck's). Only regular files: a planted symlink stays."""
    for folder, pattern in ((lock.parent, temporary_pattern(lock.name)),
                            (out_dir, re.compile(rf"\.{re.escape(deck_id)}(--[^/]+)?\.apkg"
                                                 r"\.[0-9a-f]{16}\.tmp")),
                            (out_dir, re.compile(temporary_pattern(scratch_collection(
                                deck_id)).pattern + "(-journal)?"))):
        with contextlib.suppress(OSError):  # no output folder yet
            for name in os.listdir(folder):
                if pattern.fullmatch(name) and stat.S_ISREG(os.lstat(folder / name).st_mode):
                    with contextlib.suppress(OSError):
                        (folder / name).unlink()


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` in one step: readers see the old file or the new one,
    never a part, and a failure leaves the old file as it was.

    ``durable=False`` skips the fsyncs, for caches: after a power cut they may be lost
    or empty, which costs only a slower build (a damaged entry is a miss)."""
    with staged(durable=durable) as stage:
        stage(path, data)


def create_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, never replacing anything that has the name (raises
    FileExistsError): written in full under a fresh name, then hard-linked into place, so
    a failure never leaves half a file at ``path``."""
    owned: list[Path] = []
    try:
        fd, temporary = create_exclusive(path.parent, path.name, owned)
        _write_all(fd, data)
        try:
            os.link(temporary, path, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: create the name directly
            _write_all(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                               | os.O_CLOEXEC, 0o666), data)
    finally:
        for file in owned:
            with contextlib.suppress(OSError):
                file.unlink()


def _write_all(fd: int, data: bytes, durable: bool = True) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def staged(journal_dir: Path | None = None, durable: bool = True
           ) -> Iterator[Callable[[Path, bytes], None]]:
    """Write several files so that a failure at any step can be finished or undone.

    Each file is written in full to a fresh temporary beside it. Only when all are
    written are they renamed into place, in the order staged. For more than one file
    a journal in ``journal_dir`` first lists the renames, so a build killed between
    two renames is finished by the next one (``recover``). A failure before the first
    rename leaves every old file as it was and no temporary behind.
    """
    ready: list[tuple[Path, Path]] = []  # (temporary, final)
    owned: list[Path] = []  # every temporary created, even one whose write failed

    def stage(path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = create_exclusive(path.parent, path.name, owned)
            ready.append((temporary, path))
            _write_all(fd, data, durable)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc

    try:
        yield stage
        journal = None
        if len(ready) > 1 and journal_dir is not None:
            journal = _write_journal(journal_dir, ready)
        _rename_all(ready, owned, journal, durable)
    finally:
        with signals_held():  # a Ctrl-C in the clean-up left the other temporaries
            for temporary in owned:
                with contextlib.suppress(OSError):
                    temporary.unlink()


def _rename_all(ready: list[tuple[Path, Path]], owned: list[Path], journal: Path | None,
                durable: bool = True) -> None:
    """Rename every temporary into place; the journal goes once all are in place.

    When a rename fails after another one succeeded, the journal and the temporaries
    not yet renamed stay for the next build to finish (``owned`` is emptied so the
    caller's clean-up leaves them)."""
    done = 0
    try:
        # Held over all the renames, not each one: a Ctrl-C that came during the lock's
        # rename was taken before the package's, and left the new lock, the old package
        # and the journal (1 in 40 Ctrl-C at random moments of a 10,000-card rebuild).
        with signals_held():
            for temporary, path in ready:
                try:
                    os.replace(temporary, path)
                except OSError as exc:
                    raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
                done += 1
                owned.remove(temporary)
            for folder in {path.parent for _, path in ready} if durable else ():
                _fsync_folder(folder)
            if journal is not None:
                journal.unlink(missing_ok=True)
    except BaseException:
        if journal is not None and done:
            owned.clear()  # the next build finishes the renames
        elif journal is not None:
            journal.unlink(missing_ok=True)  # nothing renamed: the old files stand
        raise


def _write_journal(folder: Path, ready: list[tuple[Path, Path]]) -> Path:
    # One JSON string pair a line (any byte of a path survives), then an end line: a
    # journal without it was cut short before any rename began.
    lines = [_JOURNAL_HEAD, *(json.dumps([os.path.abspath(t), os.path.abspath(p)])
                              for t, p in ready), _JOURNAL_END]
    path = folder / JOURNAL
    created = False
    try:
        with signals_held():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o666)
            created = True
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_folder(folder)
    except BaseException as exc:
        if created:  # no rename has begun
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return path


def recover(folder: Path) -> str | None:
    """Finish (or undo) what a build killed during its renames left in ``folder``.

    A complete journal is rolled forward: its temporaries still present are renamed into
    place, so the lock and the packages agree again. A journal cut short is rolled back:
    no rename had begun, so its temporaries are deleted. Only entries naming a
    temporary deckbuilder makes, as a regular file beside its target (a package, or
    this folder's lock), are ever renamed or deleted. Returns what was done, if anything.
    """
    path = folder / JOURNAL
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None  # no journal, or no deck folder (which loading the deck reports)
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OutputError(f"{path} is not a journal deckbuilder wrote; remove it")
        text = handle.read(_MAX_JOURNAL).decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    complete = lines[:1] == [_JOURNAL_HEAD] and _JOURNAL_END in lines
    entries = [entry for line in lines[1:] if (entry := _entry(line, folder))]
    try:
        for temporary, target in entries:
            if os.path.lexists(temporary):
                if complete:
                    os.replace(temporary, target)
                else:
                    temporary.unlink()
        for target_folder in {target.parent for _, target in entries}:
            _fsync_folder(target_folder)
    except OSError as exc:
        raise OutputError(f"cannot finish the build that was interrupted ({path}): "
                          f"{exc.strerror or exc}") from exc
    path.unlink(missing_ok=True)
    done = "finished" if complete else "undid"
    return f"{done} the writes of a build that was interrupted ({len(entries)} files)"


def _entry(line: str, folder: Path) -> tuple[Path, Path] | None:
    try:
        pair = json.loads(line)
    except ValueError:
        return None
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        return None
    temporary, target = Path(pair[0]), Path(pair[1])
    ours = (target.suffix == ".apkg"
            or (target.name == "deck.lock" and target.parent.resolve() == folder.resolve()))
    if (not ours or temporary.parent != target.parent
            or not temporary_pattern(target.name).fullmatch(temporary.name)):
        return None
    try:
        if not stat.S_ISREG(os.lstat(temporary).st_mode):
            return None
    except OSError:
        pass  # already renamed, or never written
    return temporary, target


def _fsync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable (they live in the folder's own data)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
