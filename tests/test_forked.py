"""A forked child loading a share of the sections (forked.py) changes nothing but time.

Real forks, real pipes, real signals: the same sections, problems (in the same order),
warnings, cache entries and packages as a load in one process, whatever the child does.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deckbuilder import anki, cache, forked, load
from deckbuilder.build import build_deck
from deckbuilder.errors import InvalidDeck
from deckbuilder.stamp import unseal

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

CASES = Path(__file__).parent / "cases"
BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _outcome(folder: Path, parallel: bool, monkeypatch: pytest.MonkeyPatch
             ) -> tuple[Any, list[Any]]:
    """load_deck's result (or its errors) and every section's own results, in file order:
    its problems and its cache entry (every field the cache keeps, positions too). Each
    section also goes through what a child sends, whoever loaded it: the same again."""
    loaded: list[Any] = []
    run = load._run

    def recorded(jobs: list[Any], parallel: bool, *rest: Any) -> list[Any]:
        results = run(jobs, parallel, *rest)
        loaded.extend(results)
        sent = [load._decode(job, load._encode(item))
                for job, item in zip(jobs, results, strict=True)]
        assert _values(sent) == _values(results)
        return results

    monkeypatch.setattr(load, "_run", recorded)
    forked.last_received = (0, 0)
    try:
        outcome: Any = load.load_deck(folder, parallel=parallel)
    except InvalidDeck as exc:
        outcome = exc.problems
    finally:
        monkeypatch.setattr(load, "_run", run)
    return outcome, _values(loaded)


def _values(loaded: list[Any]) -> list[Any]:
    # The entry's values: marshal's bytes also record which strings were shared or
    # interned, which two loads in one process need not agree on.
    return [(item.problems, item.section and marshal.loads(
        cache.encode(item.section, item.rendered, item.media))) for item in loaded]


def _sections(folder: Path) -> int:
    return len([p for p in folder.iterdir() if p.name[:1].isdigit()])


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_cases_load_the_same_with_a_child(case: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case / "cards"
    one = _outcome(folder, False, monkeypatch)
    assert forked.last_received == (0, 0)
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    two = _outcome(folder, True, monkeypatch)
    assert two == one
    assert one[0], "a golden case reports problems"
    if _sections(folder) >= 2 and len(one[1]) >= 2:
        assert forked.last_received[0] >= 1  # a child was forked: not a vacuous pass


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    folder = tmp_path_factory.mktemp("forked") / "cards"
    deckgen.write_deck(3000, folder)  # 6 sections
    return folder


@pytest.fixture
def broken(generated: Path, tmp_path: Path) -> Path:
    """The generated deck with errors in four sections, two in each process's share."""
    folder = tmp_path / "broken"
    folder.mkdir()
    for file in generated.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    files = sorted(folder.glob("0*.yaml"))
    first = files[0].read_text()
    files[0].write_text(first.replace("back: ", "back: [unclosed ", 1))  # YAML
    second = files[1].read_text()
    files[1].write_text(second.replace("  - id: ", "  - id: Not An Id ", 3))  # values
    taken = re.search(r"(?m)^  - id: (\S+)$", files[2].read_text())
    assert taken
    # a card id another section uses, and a cloze without deletions
    files[4].write_text(re.sub(r"(?m)^  - id: \S+$", f"  - id: {taken[1]}",
                               files[4].read_text(), count=1).replace("{{c1::", "{{", 1))
    files[5].write_text("section: [only\n")
    return folder


def test_a_deck_with_errors_in_several_sections(broken: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    one = _outcome(broken, False, monkeypatch)
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    two = _outcome(broken, True, monkeypatch)
    assert two == one
    assert forked.last_received[0] >= 2
    paths = {Path(problem.location.path).name for problem in one[0]}
    files = sorted(p.name for p in broken.glob("0*.yaml"))
    assert {files[0], files[1], files[4], files[5]} <= paths, paths  # each reports its own
    assert [entry is None for _, entry in one[1]] == [True, False, False, False, False, True]


def _build(folder: Path, out: Path, parallel: bool) -> dict[str, Any]:
    """Build (or fail to) and return what it wrote: packages, lock, cache entries."""
    lock = folder / "deck.lock"
    lock.unlink(missing_ok=True)
    with contextlib.suppress(InvalidDeck):
        build_deck(folder, out, now=1_700_000_000, parallel=parallel)
    # An entry's values: its bytes also record which objects the encoding process
    # shared (marshal's references), which the two processes need not agree on.
    # (The build's other notes name the output folder.)
    files: dict[str, Any] = {
        p.name: marshal.loads(unseal(p.read_bytes()) or b"") if p.suffix == ".entry"
        else p.read_bytes()
        for p in out.rglob("*") if p.suffix in (".entry", ".apkg")}
    if lock.exists():
        files["deck.lock"] = lock.read_bytes()
        lock.unlink()
    return files


@pytest.mark.parametrize("deck", ["generated", "broken"])
def test_the_same_files_are_written(deck: str, request: pytest.FixtureRequest,
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = request.getfixturevalue(deck)
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    one = _build(folder, tmp_path / "one", False)
    two = _build(folder, tmp_path / "two", True)
    assert forked.last_received[0] >= 2
    assert two == one
    entries = [name for name in one if name.endswith(".entry")]
    assert len(entries) == (6 if deck == "generated" else 2)
    assert ("deck.lock" in one) == (deck == "generated")


@pytest.mark.parametrize("fault", ["exit", "kill", "garbage"])
def test_a_failing_child_only_costs_time(fault: str, broken: Path, generated: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = [_outcome(folder, False, monkeypatch) for folder in (generated, broken)]
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    monkeypatch.setenv(forked.FAULT, fault)
    for folder, outcome in zip((generated, broken), wanted, strict=True):
        assert _outcome(folder, True, monkeypatch) == outcome
        child, sent = forked.last_received
        assert child >= 2
        # The kill comes after a whole section went through: that one may be used.
        assert sent <= (1 if fault == "kill" else 0)


def test_no_child_while_a_thread_runs(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        _outcome(generated, True, monkeypatch)
        assert forked.last_received == (0, 0)
    finally:
        stop.set()
        thread.join()
    _outcome(generated, True, monkeypatch)
    assert forked.last_received[0] == 3  # 6 sections of the same size: the last 3


def test_a_status_line_does_not_keep_the_child_away(generated: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A build on a terminal shows a status line drawn by a thread, and any thread kept
    the child away: every interactive build loaded on one core. The line's thread holds
    nothing a fork could copy half-taken, so the child is forked beside it, while it
    draws, with the same result."""
    from deckbuilder import progress

    wanted = _outcome(generated, False, monkeypatch)
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    monkeypatch.setattr(progress, "DELAY", 0.0)  # drawing from the start
    monkeypatch.setattr(progress, "INTERVAL", 0.0005)
    leader, follower = os.openpty()
    terminal = os.fdopen(follower, "w")
    monkeypatch.setenv("TERM", "xterm")
    try:
        with progress.shown(terminal, "build"):
            assert progress.THREAD in [t.name for t in threading.enumerate()]
            assert _outcome(generated, True, monkeypatch) == wanted
            assert forked.last_received[0] == 3
        assert b"build:" in os.read(leader, 1 << 16)  # the line was drawn meanwhile
    finally:
        terminal.close()
        os.close(leader)


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in found.read_text().split()] if found.exists() else []


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs Linux's /proc/PID/task/PID/children")
@pytest.mark.parametrize("send", [
    lambda process: process.send_signal(signal.SIGTERM),
    lambda process: os.killpg(process.pid, signal.SIGINT),  # Ctrl-C: the whole group
], ids=["SIGTERM", "Ctrl-C"])
def test_interrupted_load_leaves_no_child_and_no_file(
        send: Callable[[subprocess.Popen[bytes]], None], generated: Path,
        tmp_path: Path) -> None:
    before = sorted(generated.iterdir())
    out = tmp_path / "out"
    code = ("import sys; from deckbuilder import forked; forked.MIN_BYTES = 0; "
            "from deckbuilder.cli import main; sys.argv[0] = 'deckbuilder'; main()")
    process = subprocess.Popen(
        [sys.executable, "-c", code, "build", str(generated), "--out", str(out)],
        env={**os.environ, forked.FAULT: "hang"}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (children := _children(process.pid)):
            assert process.poll() is None and time.monotonic() < deadline, "no child forked"
            time.sleep(0.002)
        # Stopped while its child lives, so the signal surely comes during the load (the
        # child waits for ever; the build loads its sections itself meanwhile).
        os.kill(process.pid, signal.SIGSTOP)
        send(process)
        os.kill(process.pid, signal.SIGCONT)
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert b"Traceback" not in process.stderr.read()  # type: ignore[union-attr]
    for child in children:
        with pytest.raises(ProcessLookupError):  # killed and reaped: not even a zombie
            os.kill(child, 0)
    assert sorted(generated.iterdir()) == before
    assert not out.exists() or not any(out.rglob("*"))


def _load_in(slow: int) -> Callable[[int], int]:
    """A job that takes a while in the process ``slow`` names (its pid; 0: the child)."""
    parent = os.getpid()

    def load(job: int) -> int:
        if (os.getpid() == parent) == (slow == parent):
            time.sleep(0.05)
        return job * job

    return load


def _pair() -> tuple[Callable[[int], bytes], Callable[[int, bytes], int]]:
    return (lambda result: marshal.dumps(result)), (lambda job, data: marshal.loads(data))


def test_results_come_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    jobs = list(range(10))
    # This process is slow: by the time its share is done, the child sent all of its own.
    assert forked.load_shared(jobs, [1] * 10, _load_in(os.getpid()), *_pair()) == [
        job * job for job in jobs]
    assert forked.last_received == (5, 5)


def test_a_slow_child_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    jobs = list(range(10))
    # The child is slow (as on a machine whose other work takes the second core): this
    # process loads the child's jobs from the last while it has not sent them.
    assert forked.load_shared(jobs, [1] * 10, _load_in(0), *_pair()) == [
        job * job for job in jobs]
    child, sent = forked.last_received
    assert child == 5 and sent <= 1


def _slow_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process loads each of its sections slowly: the child sends all of its own."""
    parent, run = os.getpid(), load._load

    def slow(job: Any) -> Any:
        if os.getpid() == parent:
            time.sleep(0.05)
        return run(job)

    monkeypatch.setattr(load, "_load", slow)


def test_a_childs_note_keys_compile_the_same_notes(generated: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    alone = load.load_deck(generated, parallel=False)
    assert alone.keys == ()  # a load that does not compile makes none
    notes = anki.compile_notes(alone.deck, alone.rendered)
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    _slow_parent(monkeypatch)
    shared = load.load_deck(generated, compiling=True)
    assert forked.last_received == (3, 3)  # every key of the last 3 sections: the child's
    keys = tuple(shared.note_keys())
    assert len(keys) == len(notes) and None not in keys
    deck_id = alone.deck.id
    assert keys == tuple((n.guid, anki.derived_note_id(deck_id, n.guid), n.digest)
                                for n in notes)
    assert anki.compile_notes(shared.deck, shared.rendered, keys) == notes


def test_compile_takes_the_keys_it_is_given(generated: Path) -> None:
    # So that the test above can fail: keys given are used, not made again.
    checked = load.load_deck(generated, parallel=False, compiling=True)
    keys = [None, ("GUID", 1_000_000_000_001, "0" * 16), *list(checked.note_keys())[2:]]
    notes = anki.compile_notes(checked.deck, checked.rendered, keys)
    assert (notes[1].guid, notes[1].note_id, notes[1].digest) == keys[1]
    assert notes[0] == anki.compile_notes(checked.deck, checked.rendered)[0]


@pytest.mark.parametrize("keys", [
    ([], [], []),  # not one a card
    (["GUID"] * 500, [1] * 500, [2] * 500),  # a digest that is not text
    (["GUID"] * 500, [1.0] * 500, ["d"] * 500),  # an id that is not an integer
    [["GUID"] * 500, [1] * 500, ["d"] * 500],  # not the tuple sent
    "keys",
])
def test_keys_that_are_not_a_childs_are_refused(keys: Any, generated: Path) -> None:
    # The generated deck's first section has 500 cards.
    jobs: list[Any] = []
    monkeypatch = pytest.MonkeyPatch()
    run = load._run
    monkeypatch.setattr(load, "_run",
                        lambda got, parallel, *rest: jobs.extend(got) or run(got, False))
    try:
        load.load_deck(generated, parallel=False, compiling=True)
    finally:
        monkeypatch.undo()
    loaded = load._load(jobs[0])
    assert len(loaded.rendered) == 500
    rows, entry, sent = marshal.loads(load._encode(loaded))
    assert load._decode(jobs[0], marshal.dumps((rows, entry, sent))).keys == sent
    with pytest.raises(ValueError):
        load._decode(jobs[0], marshal.dumps((rows, entry, keys)))


def test_a_lock_text_that_fails_on_its_thread_fails_the_build(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The lock's text is made on a thread while SQLite works (build.py): what goes wrong
    # there is raised by the build as before, and nothing is written.
    from deckbuilder import lock

    made: list[str] = []

    def failing(self: lock.Lock) -> str:
        made.append(threading.current_thread().name)
        raise MemoryError("no memory for the lock")

    monkeypatch.setattr(lock.Lock, "text", failing)
    folder = tmp_path / "cards"
    shutil.copytree(generated, folder)
    with pytest.raises(MemoryError, match="no memory for the lock"):
        build_deck(folder, tmp_path / "out", now=1_700_000_000)
    assert made == ["deckbuilder-aside", "MainThread"]  # tried there, then here
    assert not (folder / "deck.lock").exists()
    assert not list((tmp_path / "out").glob("*.apkg"))


@pytest.mark.parametrize("write_cache", [False, True])
def test_entries_are_made_while_loading_only_for_a_load_that_stores_them(
        write_cache: bool, generated: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # validate and lint do not pay for entries they never write; a build's entries are
    # made by whoever loads the section (this process or the child), and stored as made.
    loaded: list[Any] = []
    run = load._run

    def recorded(jobs: list[Any], parallel: bool, *rest: Any) -> list[Any]:
        loaded.extend(run(jobs, parallel, *rest))
        return loaded

    monkeypatch.setattr(load, "_run", recorded)
    folder = tmp_path / "cache"
    load.load_deck(generated, folder, write_cache=write_cache, parallel=False)
    assert len(loaded) == 6
    assert all((item.entry is not None) == write_cache for item in loaded)
    stored = sorted(marshal.loads(unseal(p.read_bytes()) or b"")
                    for p in folder.glob("*.entry")) if write_cache else []
    assert stored == sorted(marshal.loads(item.entry) for item in loaded if item.entry)


def test_the_pool_counts_the_cores_this_process_may_use(generated: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A build held to 2 cores (taskset) on a machine of 8 started a pool of 8 workers
    (os.cpu_count) instead of the one child that 2 cores call for."""
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)  # big enough for a pool, were there cores
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    forked.last_received = (0, 0)
    _outcome(generated, True, monkeypatch)
    assert forked.last_received[0] == 3  # the child's share, not a pool


def _paced(parent_seconds: float, child_seconds: float) -> Callable[[int], int]:
    """A job that takes ``parent_seconds`` in this process, ``child_seconds`` in a child."""
    parent = os.getpid()

    def load(job: int) -> int:
        time.sleep(parent_seconds if os.getpid() == parent else child_seconds)
        return job * job

    return load


def test_the_childs_last_job_is_waited_for_when_it_comes_sooner(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    jobs = list(range(4))  # two here (0.2 s), two for the child (0.11 s each)
    # When this process is done, the child is on its last job, 0.02 s from sending it:
    # loading that job here too (0.1 s) would finish later.
    assert forked.load_shared(jobs, [1] * 4, _paced(0.1, 0.11), *_pair()) == [
        job * job for job in jobs]
    assert forked.last_received == (2, 2)


def test_the_childs_last_job_is_loaded_here_when_that_is_sooner(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    jobs = list(range(4))
    # The child is slow (0.3 s a job): its last job is loaded here, not waited for.
    started = time.monotonic()
    assert forked.load_shared(jobs, [1] * 4, _paced(0.02, 0.3), *_pair()) == [
        job * job for job in jobs]
    assert forked.last_received[1] == 0
    assert time.monotonic() - started < 0.3


def test_meanwhile_runs_here_once_the_child_is_forked(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    jobs = list(range(6))
    forked.load_shared(jobs, [1] * 6, _load_in(0), *_pair(),
                       meanwhile=lambda: calls.append(os.getpid()))
    assert calls == []  # no child (too little to share): not called
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    assert forked.load_shared(jobs, [1] * 6, _load_in(0), *_pair(),
                              meanwhile=lambda: calls.append(os.getpid())) == [
        job * job for job in jobs]
    assert calls == [os.getpid()] and forked.last_received[0] == 3


# The modules a build imports for after the load, as the child of a build sees them.
_CHILD_SEES = """
import os, sys
from deckbuilder import build, forked, load
forked.MIN_BYTES = 0
parent, real = os.getpid(), load._load
def noted(job):
    if os.getpid() != parent:
        later = [m for m in ("sqlite3", "genanki", "deckbuilder.database") if m in sys.modules]
        os.write(1, f"child has {later}\\n".encode())
    return real(job)
load._load = noted
build.build_deck(*map(build.Path, sys.argv[1:]), now=1)
print("parent has", "sqlite3" in sys.modules, "genanki" in sys.modules)
"""


def test_a_builds_child_never_imports_what_comes_after_the_load(generated: Path,
                                                                tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD_SEES, str(generated),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "child has []" in lines and "parent has True True" in lines
    assert {line for line in lines if line.startswith("child")} == {"child has []"}


def test_what_the_child_sent_while_this_process_decoded_is_never_loaded_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_BYTES", 0)
    jobs = list(range(6))  # three here (0.04 s each), three for the child (0.05 s each)
    loaded_here: list[int] = []
    parent, load = os.getpid(), _paced(0.04, 0.05)

    def noted(job: int) -> int:
        if os.getpid() == parent:
            loaded_here.append(job)
        return load(job)

    def slow_decode(job: int, data: bytes) -> int:
        time.sleep(0.05)  # the child's last result comes while its first two are decoded
        return int(marshal.loads(data))

    assert forked.load_shared(jobs, [1] * 6, noted, lambda result: marshal.dumps(result),
                              slow_decode) == [job * job for job in jobs]
    assert forked.last_received == (3, 3) and loaded_here == [0, 1, 2]
