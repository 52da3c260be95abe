"""Share a big deck's loading with one forked child: the second core of a small machine.

A process pool that pickled its results back cost about half the work it saved
(load.py). Here one child, forked once the deck head and the lock are read, loads a
share of the sections and sends each back as bytes the caller chose (load.py sends a
section-cache entry: cache.py's marshal format, the cheapest form there is to decode)
through a pipe, while this process loads the rest. The child writes no file and shows
nothing: a child that dies, is killed or sends what does not decode only means this
process loads those sections itself, so the result is the same either way. Ctrl-C or
SIGTERM here kills and reaps the child before the exception goes on.
"""

from __future__ import annotations

import os
import signal
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from typing import BinaryIO, NoReturn, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")

# Below this much YAML (about 1,200 cards, 45 ms of loading) a fork (2-3 ms) and the
# decoding (a tenth of the child's share) would save a few ms of wall time at best, for
# about a tenth more CPU.
MIN_BYTES = 256 << 10
# The child's share of the bytes: a little over half, as this process also decodes what
# the child sends (a tenth of the cost of loading it).
CHILD_SHARE = 0.55
# Before each result's bytes: their length and CRC-32, so that what the pipe did not
# carry whole never reaches marshal (garbage there can ask for any amount of memory).
_HEADER = struct.Struct("<QI")
_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# Tests only: makes the child fail in the named way ("exit", "kill", "garbage", "hang").
FAULT = "DECKBUILDER_TEST_CHILD_FAULT"

last_received: tuple[int, int] = (0, 0)  # (sections the last child had, sections it sent)


def load_shared(jobs: Sequence[Job], sizes: Sequence[int], load: Callable[[Job], Result],
                encode: Callable[[Result], bytes], decode: Callable[[Job, bytes], Result]
                ) -> list[Result]:
    """``[load(job) for job in jobs]``, a share of it done by a forked child when that
    pays; ``decode(job, encode(load(job)))`` must equal ``load(job)`` (or raise
    ValueError)."""
    global last_received
    last_received = (0, 0)
    split = _split(sizes)
    if split is None:
        return [load(job) for job in jobs]
    # Held across the fork: a signal now would find no pid to kill, and the child takes
    # the default actions before it may receive any.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or no process left for it: one process does it all
            os.close(read_end)
            os.close(write_end)
            raise
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return [load(job) for job in jobs]
    if pid == 0:
        _child(held, read_end, write_end, jobs[split:], load, encode)
    pipe = open(read_end, "rb")  # noqa: SIM115 (closed below, whatever happens)
    theirs = None
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(write_end)
        mine = [load(job) for job in jobs[:split]]
        theirs = _receive(pipe, jobs[split:], decode)
    finally:
        if theirs is None:  # interrupted or failed: no child may outlive this load
            os.kill(pid, signal.SIGKILL)
        pipe.close()
        os.waitpid(pid, 0)
    last_received = (len(jobs) - split, sum(result is not None for result in theirs))
    return mine + [load(job) if result is None else result
                   for job, result in zip(jobs[split:], theirs, strict=True)]


def _split(sizes: Sequence[int]) -> int | None:
    """Where the child's share starts (the last sections, by bytes), or None: no fork."""
    total = sum(sizes)
    if (len(sizes) < 2 or total < MIN_BYTES or not hasattr(os, "fork")
            or _usable_cores() < 2 or threading.active_count() > 1):
        return None  # forking a process with threads could copy a lock another one held
    split, theirs = len(sizes), 0
    while split > 1 and theirs + sizes[split - 1] / 2 < total * CHILD_SHARE:
        split -= 1
        theirs += sizes[split]
    return split if split < len(sizes) else None


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may run on, not the machine
    except AttributeError:
        return os.cpu_count() or 1


def _child(held: set[int | signal.Signals], read_end: int, write_end: int, jobs: Sequence[Job],
           load: Callable[[Job], Result], encode: Callable[[Result], bytes]) -> NoReturn:
    """Load the jobs, then send them all (the parent reads once its own share is done:
    a pipe that filled meanwhile would stop this work); never returns."""
    status = 1
    try:  # whatever happens, this process never runs its parent's code past this call
        for number in _SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(read_end)
        fault = os.environ.get(FAULT)
        sent = []
        for job in jobs:
            data = encode(load(job))
            sent += [_HEADER.pack(len(data), zlib.crc32(data)), data]
        if fault == "hang":
            signal.pause()
        if fault == "garbage":  # no entry, a wrong CRC, then a length far too long
            garbage = b"\x00garbage"
            sent = [_HEADER.pack(8, zlib.crc32(garbage)), garbage] * (len(jobs) - 2)
            sent += [_HEADER.pack(8, 0), garbage, _HEADER.pack(1 << 60, 0)]
        with open(write_end, "wb") as pipe:
            if fault == "kill":
                pipe.writelines(sent[:len(sent) // 2 - 1])
                pipe.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            if fault != "exit":
                pipe.writelines(sent)
                status = 0
    finally:
        os._exit(status)  # no atexit handlers, no buffers of the parent's flushed twice


def _receive(pipe: BinaryIO, jobs: Sequence[Job], decode: Callable[[Job, bytes], Result]
             ) -> list[Result | None]:
    """What the child sent, job by job; None for each job it did not send whole."""
    received: list[Result | None] = []
    read = pipe.read
    for job in jobs:
        header = read(_HEADER.size)
        if len(header) < _HEADER.size:
            break
        size, crc = _HEADER.unpack(header)
        data = _read(read, size)
        if data is None:
            break
        if zlib.crc32(data) != crc:
            received.append(None)
            continue
        try:
            received.append(decode(job, data))
        except (ValueError, TypeError, EOFError, KeyError, IndexError):
            received.append(None)  # not what a child of this code sends: load it here
    return received + [None] * (len(jobs) - len(received))


def _read(read: Callable[[int], bytes], size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the pipe; a piece at a time, so that a
    garbled length asks for no more memory than the bytes that came."""
    pieces = []
    while size > 0:
        piece = read(min(size, 1 << 22))
        if not piece:
            return None
        pieces.append(piece)
        size -= len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
