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

import contextlib
import os
import signal
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from . import progress

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
# carry whole never reaches marshal (garbage there can ask for any amount of memory), and
# when the child sent it (time.monotonic, one clock for both processes): how fast it goes.
_HEADER = struct.Struct("<QId")
_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# Tests only: makes the child fail in the named way ("exit", "kill", "garbage", "hang").
FAULT = "DECKBUILDER_TEST_CHILD_FAULT"

last_received: tuple[int, int] = (0, 0)  # (jobs the last child was given, results used)


def load_shared(jobs: Sequence[Job], sizes: Sequence[int], load: Callable[[Job], Result],
                encode: Callable[[Result], bytes], decode: Callable[[Job, bytes], Result],
                meanwhile: Callable[[], object] | None = None) -> list[Result]:
    """``[load(job) for job in jobs]``, a share of it done by a forked child when that
    pays; ``decode(job, encode(load(job)))`` must equal ``load(job)`` (or raise
    ValueError). ``meanwhile`` is called here once the child is forked (never when none
    is): what it does, the child does not."""
    global last_received
    last_received = (0, 0)
    split = _split(sizes)
    if split is None:
        return [load(job) for job in jobs]
    import fcntl  # not on Windows, which has no fork either

    # Held across the fork: a signal now would find no pid to kill, and the child takes
    # the default actions before it may receive any.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        read_end, write_end = os.pipe()
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: room for a few results, not 64 KiB
            with contextlib.suppress(OSError):
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)
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
    theirs: list[Result | None] = []
    sent = 0
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(write_end)
        os.set_blocking(read_end, False)
        inbox = _Inbox(read_end, time.monotonic())
        if meanwhile is not None:
            meanwhile()
        mine = []
        began = time.monotonic()
        for job in jobs[:split]:
            mine.append(load(job))
            inbox.drain()  # so that the child never waits for room in the pipe
        pace = (time.monotonic() - began) / max(1, sum(sizes[:split]))  # seconds a byte
        theirs, sent = _share(inbox, jobs[split:], sizes[split:], pace, load, decode)
    finally:
        # Done, failed or interrupted: the child is not needed any more (it may still be
        # loading what this process took over), and none may outlive this load.
        os.kill(pid, signal.SIGKILL)
        os.close(read_end)
        os.waitpid(pid, 0)
    last_received = (len(jobs) - split, sent)
    return mine + [load(job) if result is None else result
                   for job, result in zip(jobs[split:], theirs, strict=True)]


def _share(inbox: _Inbox, jobs: Sequence[Job], sizes: Sequence[int], pace: float,
           load: Callable[[Job], Result], decode: Callable[[Job, bytes], Result]
           ) -> tuple[list[Result | None], int]:
    """The child's jobs: as it sends them (it goes from the first), or loaded here from
    the last while it has not (a child that the machine's other work slows down, or that
    died, costs at most the one job it was on); None where what it sent did not decode.
    Also how many of them the child's results are. ``pace``: this process's seconds a
    byte of loading."""
    results: list[Result | None] = [None] * len(jobs)
    mine = len(jobs)  # from here on, loaded here
    sent = 0
    while True:
        inbox.drain()
        if frames := inbox.frames():
            for index, data in frames:
                # A result that is not what a child of this code sends is loaded by the caller.
                if index < mine and data is not None:
                    with contextlib.suppress(ValueError, TypeError, EOFError, KeyError,
                                             IndexError):
                        results[index] = decode(jobs[index], data)
                        sent += 1
            continue  # decoding took a while: what came meanwhile counts before deciding
        if inbox.received >= mine or inbox.ended:
            return results, sent
        if mine - 1 == inbox.received:
            # The last job left is the one the child is on: loading it here too pays only
            # if the child would send it later than this process could load it (decoding
            # what the child sends takes about a tenth of that). A quarter more is given
            # for the child's pace to vary; past that, it is loaded here.
            own = pace * sizes[mine - 1]
            left = _expected(inbox, sizes, pace) - time.monotonic()
            if left < 0.9 * own and (wait := left + own / 4) > 0:
                inbox.wait(wait)
                continue
        mine -= 1
        results[mine] = load(jobs[mine])


def _expected(inbox: _Inbox, sizes: Sequence[int], pace: float) -> float:
    """When the child should send the job it is on (time.monotonic), at the pace of the
    ones it sent; at ``pace`` (this process's) when it sent none."""
    done = inbox.received
    if done:
        pace = (inbox.last_sent - inbox.started) / max(1, sum(sizes[:done]))
    return inbox.last_sent + pace * sizes[done]


class _Inbox:
    """What the child sent so far, read without waiting, cut into its results."""

    def __init__(self, fd: int, started: float) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.received = 0  # results cut so far (in the child's order)
        self.ended = False  # the child is gone: nothing more will come
        self.started = started  # when the child was forked (time.monotonic)
        self.last_sent = started  # when the child sent the last result cut

    def wait(self, seconds: float) -> None:
        """Read what comes within ``seconds`` (at least a part of a result, or the end)."""
        import select

        poller = select.poll()  # not select(): any descriptor number
        poller.register(self.fd, select.POLLIN)
        poller.poll(seconds * 1000)
        self.drain()

    def drain(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return
            if not data:
                self.ended = True
                return
            self.buffer += data

    def frames(self) -> list[tuple[int, bytes | None]]:
        """The whole results read since the last call, by index; None for one whose
        bytes are not what the child sent (a wrong CRC-32)."""
        frames: list[tuple[int, bytes | None]] = []
        start, buffer = 0, self.buffer
        while len(buffer) - start >= _HEADER.size:
            size, crc, when = _HEADER.unpack_from(buffer, start)
            end = start + _HEADER.size + size
            if len(buffer) < end:
                break
            data = bytes(buffer[start + _HEADER.size:end])
            frames.append((self.received + len(frames), data if zlib.crc32(data) == crc
                           else None))
            if self.last_sent <= when <= time.monotonic():  # else not a time: kept as it was
                self.last_sent = when
            start = end
        del buffer[:start]
        self.received += len(frames)
        return frames


def _split(sizes: Sequence[int]) -> int | None:
    """Where the child's share starts (the last sections, by bytes), or None: no fork."""
    total = sum(sizes)
    if (len(sizes) < 2 or total < MIN_BYTES or not hasattr(os, "fork")
            or usable_cores() < 2 or _other_threads()):
        return None  # forking a process with threads could copy a lock another one held
    split, theirs = len(sizes), 0
    while split > 1 and theirs + sizes[split - 1] / 2 < total * CHILD_SHARE:
        split -= 1
        theirs += sizes[split]
    return split if split < len(sizes) else None


def _other_threads() -> bool:
    """A thread beside this one, other than the status line's: that one holds nothing a
    fork could copy half-taken (progress.py forks only between two of its draws)."""
    main = threading.current_thread()
    return any(thread is not main and thread.name != progress.THREAD
               for thread in threading.enumerate())


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may run on, not the machine
    except AttributeError:
        return os.cpu_count() or 1


def _child(held: set[int | signal.Signals], read_end: int, write_end: int, jobs: Sequence[Job],
           load: Callable[[Job], Result], encode: Callable[[Result], bytes]) -> NoReturn:
    """Load the jobs in order, sending each as soon as it is done; never returns."""
    status = 1
    try:  # whatever happens, this process never runs its parent's code past this call
        for caught in _SIGNALS:
            signal.signal(caught, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(read_end)
        fault = os.environ.get(FAULT)
        if fault == "hang":
            signal.pause()
        with open(write_end, "wb", buffering=0) as pipe:
            for index, job in enumerate(jobs):
                if fault == "exit":
                    os._exit(3)
                if fault == "kill" and index == 1:  # once one result went through
                    os.kill(os.getpid(), signal.SIGKILL)
                data = encode(load(job))
                if fault == "garbage":  # no entry, then a wrong CRC, then a length far too long
                    data = b"\x00garbage"
                    pipe.write(_HEADER.pack(len(data), zlib.crc32(data) ^ index, 0)
                               if index < 2 else _HEADER.pack(1 << 60, 0, 0))
                else:
                    pipe.write(_HEADER.pack(len(data), zlib.crc32(data), time.monotonic()))
                pipe.write(data)
            status = 0
    finally:
        os._exit(status)  # no atexit handlers, no buffers of the parent's flushed twice
