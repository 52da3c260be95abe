"""What the user sees, for every command: streams, escaping, encodings, exit codes, signals.

A hostile file name (ESC, CR, BEL, a bidi override) must never reach the terminal raw;
an output that cannot encode a character never costs a traceback; SIGTERM cleans up.
Encodings and signals are tried on real subprocesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DECK_YAML, write_deck

from deckbuilder.cli import cli

HOSTILE = "\x1b]0;pwned\x07\x1bc\r\u202e\x00"
RAW = [b"\x1b", b"\r", b"\x07", "\u202e".encode(), b"\x00"]
SECTION = """
section: A
cards:
  - id: capital
    front: Which city is the capital of France?
    back: Paris
"""


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _hostile_deck(root: Path, bad_file: bool = True) -> Path:
    files = {"deck.yaml": DECK_YAML, "01-a.yaml": SECTION}
    if bad_file:
        files[f"02-b{HOSTILE.replace(chr(0), '')}.yaml"] = SECTION
    return write_deck(root / f"deck{HOSTILE.replace(chr(0), '')}", files)


def _assert_escaped(result: Result) -> None:
    shown = result.stdout_bytes + result.stderr_bytes
    assert not [raw for raw in RAW if raw in shown], shown
    assert b"\\x1b" in shown and b"\\u202e" in shown, shown


COMMANDS = [("validate",), ("validate", "--format", "json"), ("build", "--out", "OUT"),
            ("build", "--check", "--out", "OUT"), ("lint",), ("stats",),
            ("export", "--out", "OUT"), ("preview", "--out", "OUT")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_hostile_file_name_is_shown_escaped(tmp_path: Path, command: tuple[str, ...]) -> None:
    deck = _hostile_deck(tmp_path)
    args = [str(tmp_path / f"out{HOSTILE[:-1]}") if a == "OUT" else a for a in command]
    result = _run(args[0], deck, *args[1:])
    assert result.exit_code == 1
    if "json" in command:  # JSON escapes by itself, on stdout
        (problem,) = json.loads(result.stdout)
        assert HOSTILE.replace("\x00", "") in problem["path"]
        assert result.stderr == ""
    else:  # problems and their summary on stderr, nothing on stdout
        _assert_escaped(result)
        assert result.stdout == ""
        assert result.stderr.endswith("1 error in 1 file\n")


@pytest.mark.parametrize("command", [("build", "--out", "OUT"), ("stats",), ("validate",),
                                     ("export", "--out", "OUT"), ("preview", "--out", "OUT"),
                                     ("lint",)], ids=" ".join)
def test_results_of_a_deck_in_a_hostile_folder_are_escaped(tmp_path: Path,
                                                           command: tuple[str, ...]) -> None:
    deck = _hostile_deck(tmp_path, bad_file=False)
    args = [str(tmp_path / f"out{HOSTILE[:-1]}") if a == "OUT" else a for a in command]
    result = _run(args[0], deck, *args[1:])
    assert result.exit_code == 0, result.output
    shown = result.stdout_bytes + result.stderr_bytes
    assert not [raw for raw in RAW if raw in shown], shown
    if command[0] != "stats":  # stats prints tables, not the folder
        assert b"\\x1b" in result.stdout_bytes


def test_new_and_schema_escape_too(tmp_path: Path) -> None:
    deck = _hostile_deck(tmp_path, bad_file=False)
    result = _run("new", "Second thoughts", deck)
    assert result.exit_code == 0
    _assert_escaped(result)
    result = _run("new", "Again", tmp_path / f"missing{HOSTILE[:-1]}")
    assert result.exit_code == 1
    _assert_escaped(result)
    result = _run("schema", HOSTILE[:-1])  # click's own usage error
    assert result.exit_code == 2
    _assert_escaped(result)
    assert result.stdout == ""


def test_json_is_the_only_thing_on_stdout(example: Path, tmp_path: Path) -> None:
    (example / "01-basics.yaml").write_text(
        (example / "01-basics.yaml").read_text().replace("back: Paris", "bak: Paris"))
    for command in ("validate", "lint"):
        result = _run(command, example, "--format", "json")
        assert result.exit_code == 1
        problems = json.loads(result.stdout)
        assert len(problems) == 1 and result.stderr == ""  # the misspelled key, once
        assert problems[0]["message"].startswith("unknown key 'bak'; did you mean 'back'?")


def _deckbuilder(*args: str | Path, cwd: Path | None = None,
                 **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "deckbuilder", *map(str, args)], cwd=cwd,
                          capture_output=True, timeout=120, env={**os.environ, **env})


def test_an_output_that_cannot_encode_a_diagnostic_never_tracebacks(tmp_path: Path) -> None:
    """PYTHONIOENCODING=latin-1 and a file name in Greek: every command says what it
    says, with the characters latin-1 lacks shown as backslash escapes."""
    deck = write_deck(tmp_path / "Ωmega", {"deck.yaml": DECK_YAML, "01-a.yaml": SECTION,
                                           "02-Ω.yaml": SECTION})
    out = tmp_path / "out"
    commands = [("validate", deck), ("build", deck, "--out", out), ("lint", deck),
                ("stats", deck), ("export", deck, "--out", out),
                ("preview", deck, "--out", out), ("new", "Ωmega", deck), ("schema",),
                ("build", deck, "--out", out, "--check")]
    for command in commands:
        done = _deckbuilder(*command, PYTHONIOENCODING="latin-1")
        assert b"Traceback" not in done.stderr, (command, done.stderr)
        expected = 0 if command[0] in ("new", "schema") else 1
        assert done.returncode == expected, (command, done.stderr)
        if expected:
            assert b"\\u03a9mega/02-\\u03a9.yaml: section file names" in done.stderr, done.stderr
    schema = _deckbuilder("schema", PYTHONIOENCODING="ascii")
    assert json.loads(schema.stdout) == json.loads(_deckbuilder("schema").stdout)


def _temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*")
            if p.name.endswith(".tmp") or p.name.startswith(("deckbuilder-", ".deckbuilder-j"))
            or ".db." in p.name]


@pytest.mark.parametrize("moment", ["early", "scratch", "any temporary"])
def test_sigterm_during_a_build_leaves_no_temporary_behind(tmp_path: Path, moment: str) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    deck = tmp_path / "deck"
    deckgen.write_deck(20_000, deck)
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()

    def ready() -> bool:
        if moment == "scratch":  # the collection being built: the old TemporaryDirectory
            return any(".db." in p.name for p in _temporaries(out, scratch))
        return moment == "early" or bool(_temporaries(out, deck, scratch))

    build = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", str(deck),
                              "--out", str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(scratch)})
    try:
        time.sleep(0.3 if moment == "early" else 0)
        deadline = time.monotonic() + 60
        while not ready() and build.poll() is None:
            assert time.monotonic() < deadline, "the moment never came"
            time.sleep(0.002)
        build.send_signal(signal.SIGTERM)
        _, stderr = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == 1, stderr
    assert stderr.decode().splitlines()[-1] == "Aborted!"
    assert b"Traceback" not in stderr
    assert _temporaries(out, deck, scratch) == []
    assert list(scratch.iterdir()) == []


@contextlib.contextmanager
def _watching(cwd: Path, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`deckbuilder build ARGS --watch` in ``cwd``, once it watches; output to ``log``."""
    with log.open("w") as handle:
        watcher = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", *args,
                                    "--watch"], cwd=cwd, stdout=handle,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while "watching" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield watcher
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def _save_until_rebuilt(example: Path, log: Path) -> None:
    basics = example / "01-basics.yaml"
    text = basics.read_text().replace("back: Paris", "back: Paris, France")
    deadline = time.monotonic() + 30
    while "  changed: capital-france" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        basics.write_text(text)  # again: the watcher may start a moment late
        time.sleep(0.5)


def test_watch_from_inside_the_deck_rebuilds_once_per_save(example: Path,
                                                           tmp_path: Path) -> None:
    """`cd cards && deckbuilder build . --watch`: build/ is inside the watched folder, and
    what the build writes there (package, cache, lock, temporaries) is not a save."""
    log = tmp_path / "watch.log"
    with _watching(example, log, ".") as watcher:
        _save_until_rebuilt(example, log)
        builds = log.read_text().count("wrote ")
        time.sleep(3)  # a build that triggers itself would have run again by now
        assert log.read_text().count("wrote ") == builds, log.read_text()
        assert watcher.poll() is None


def test_watch_with_the_out_folder_around_the_deck_still_sees_saves(example: Path,
                                                                     tmp_path: Path) -> None:
    """`deckbuilder build cards --out . --watch`: the deck is inside the out folder, and
    its saves must still count (only what the build writes is ignored)."""
    log = tmp_path / "watch.log"
    with _watching(tmp_path, log, "cards", "--out", "."):
        _save_until_rebuilt(example, log)


BAD_SECTION = SECTION.replace("back: Paris", "back: [Paris]")
BAD_LINE = "01-a.yaml:5:11: 'back' must be text, found a list"


def _streams_setup(tmp_path: Path) -> dict[str, Path]:
    """A valid deck, a deck with one error, an Anki collection, a damaged lock."""
    from anki.collection import Collection

    places = {"good": write_deck(tmp_path / "good", {"deck.yaml": DECK_YAML, "01-a.yaml": SECTION}),
              "bad": write_deck(tmp_path / "bad", {"deck.yaml": DECK_YAML,
                                                   "01-a.yaml": BAD_SECTION}),
              "out": tmp_path / "out", "col": tmp_path / "anki" / "collection.anki2",
              "lock": tmp_path / "deck.lock", "taken": tmp_path / "taken"}
    places["col"].parent.mkdir()
    Collection(str(places["col"])).close()
    places["lock"].write_text("garbage\n")
    places["taken"].mkdir()
    (places["taken"] / ".gitignore").write_text("mine\n")
    return places


# Every command with a problem: (arguments, exit status, what stderr must say).
PROBLEM_RUNS = {
    "validate": (["validate", "{bad}"], 1, BAD_LINE),
    "build": (["build", "{bad}", "--out", "{out}"], 1, BAD_LINE),
    "lint": (["lint", "{bad}"], 1, BAD_LINE),
    "stats": (["stats", "{bad}"], 1, BAD_LINE),
    "export": (["export", "{bad}", "--out", "{out}"], 1, BAD_LINE),
    "preview": (["preview", "{bad}", "--out", "{out}"], 1, BAD_LINE),
    "sync": (["sync", "{bad}", "--collection", "{col}", "--out", "{out}"], 1, BAD_LINE),
    "new": (["new", "A::B", "{good}"], 1, "error: the section title cannot contain '::'"),
    "init": (["init", "{taken}"], 1, ".gitignore:1:1: already exists; nothing was written"),
    "merge-lock": (["merge-lock", "{lock}", "{lock}", "{lock}"], 1,
                   "deck.lock:1:1: damaged lock line"),
    "schema": (["schema", "card"], 2, "'card' is not one of 'section', 'deck'"),
}


def test_every_command_prints_its_problems_on_stderr_and_nothing_on_stdout(
        tmp_path: Path) -> None:
    assert set(PROBLEM_RUNS) == set(cli.commands), "add the new command here"
    places = _streams_setup(tmp_path)
    for name, (args, status, expected) in PROBLEM_RUNS.items():
        for extra in ([], ["-q"]):  # -q never hides a problem
            result = _run(*[a.format(**places) for a in args], *extra)
            assert (result.exit_code, result.stdout) == (status, ""), (name, result.output)
            assert expected in result.stderr, (name, result.stderr)
    check = _run("build", places["bad"], "--check", "--out", places["out"])
    assert (check.exit_code, check.stdout) == (1, "") and BAD_LINE in check.stderr


# Every command on a clean deck with -q: nothing at all, but the result of the commands
# whose result is their output (JSON, tables, the new file's path).
QUIET_RUNS = {
    "validate": ["validate", "{good}"],
    "build": ["build", "{good}", "--out", "{out}"],
    "lint": ["lint", "{good}"],
    "export": ["export", "{good}", "--out", "{out}"],
    "preview": ["preview", "{good}", "--out", "{out}/preview"],
    "sync": ["sync", "{good}", "--collection", "{col}", "--out", "{out}", "--no-backup"],
    "init": ["init", "{out}/new-deck"],
    "merge-lock": ["merge-lock", "--resolve", "{good}/deck.lock"],  # not conflicted
    "new": ["new", "Second", "{out}/new-deck/cards"],  # the deck init just wrote
    "stats": ["stats", "{good}"],
    "schema": ["schema"],
}
OUTPUT_IS_THE_RESULT = {"new", "stats", "schema"}


def test_quiet_prints_nothing_but_problems_or_the_result_itself(tmp_path: Path) -> None:
    assert set(QUIET_RUNS) == set(cli.commands), "add the new command here"
    places = _streams_setup(tmp_path)
    for name, args in QUIET_RUNS.items():
        shown = [a.format(**places) for a in args]
        loud = _run(*shown) if name not in ("init", "new", "merge-lock") else None
        result = _run(*shown, "-q")
        assert (result.exit_code, result.stderr) == (0, ""), (name, result.output)
        assert bool(result.stdout) == (name in OUTPUT_IS_THE_RESULT), (name, result.stdout)
        if loud is not None and name not in OUTPUT_IS_THE_RESULT:
            assert loud.stdout and loud.stderr == "", (name, loud.output)  # results: stdout
    assert _run("build", places["good"], "--check", "--out", places["out"], "-q").output == ""
    assert _run("build", places["good"], "--check", "--out", places["out"], "-q").output == ""


def test_advice_goes_with_the_notes(example: Path, tmp_path: Path) -> None:
    """What to do next is not the result: on stderr, so stdout stays what was written."""
    result = _run("export", example, "--out", tmp_path)
    assert result.stdout == f"wrote {tmp_path / 'example-deck.csv'}: 6 notes\n"
    assert (f"note: copy the files in {tmp_path / 'example-deck-media'} "
            "into the collection.media folder") in result.stderr


def test_watch_sees_a_file_replaced_by_a_symlink_out_of_the_deck(example: Path,
                                                                 tmp_path: Path) -> None:
    """The watcher's filter judges the name saved in the deck, not where a symlink leads:
    a media file replaced by a link to a file outside is a save (the build then reports
    it), while the build's own files stay ignored."""
    from deckbuilder.commands.build import _SourceFilter

    outside = tmp_path / "outside.png"
    image = example / "media" / "outline.png"
    outside.write_bytes(image.read_bytes())
    image.unlink()
    image.symlink_to(outside)
    seen = _SourceFilter(example, example / "build")
    assert seen(None, str(image))
    assert not seen(None, str(example / "deck.lock"))
    assert not seen(None, str(example / "build" / "example-deck.apkg"))
    assert not seen(None, str(example / ".deckbuilder-journal"))


def test_watch_sees_a_save_made_as_soon_as_it_says_watching(example: Path,
                                                             tmp_path: Path) -> None:
    """`watching` is said once the watcher observes (a script or an author saving at once
    was lost until the next save): one save, no retry, is rebuilt."""
    log = tmp_path / "watch.log"
    basics = example / "01-basics.yaml"
    text = basics.read_text().replace("back: Paris", "back: Paris, France")
    with log.open("w") as handle:
        watcher = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", "cards",
                                    "--watch"], cwd=tmp_path, stdout=handle,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while "watching" not in log.read_text():  # then at once, as a script would
            assert time.monotonic() < deadline, log.read_text()
        basics.write_text(text)
        deadline = time.monotonic() + 15
        while "  changed: capital-france" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def test_the_program_ends_at_once_with_every_output_written_and_its_exit_code(
        example: Path, tmp_path: Path) -> None:
    """The program skips freeing its objects at exit (cli.run), never what it printed
    into a pipe's buffer, nor its exit code: 0 done, 1 problems, 2 usage."""
    schema = _deckbuilder("schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["type"] == "object"
    built = _deckbuilder("build", example, "--out", tmp_path / "out")
    assert built.returncode == 0, built.stderr
    assert built.stdout.decode().startswith(f"wrote {tmp_path / 'out' / 'example-deck.apkg'}")
    (example / "01-basics.yaml").write_text("cards: [\n")
    broken = _deckbuilder("validate", example)
    assert broken.returncode == 1 and b"01-basics.yaml:" in broken.stderr
    assert _deckbuilder("build", "--no-such-option").returncode == 2
    # A message as the exit code is printed, exit 1, as Python does.
    message = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom deckbuilder import cli\n"
         "cli.main = lambda: sys.exit('a message')\ncli.run()"],
        capture_output=True, timeout=60)
    assert (message.returncode, message.stderr) == (1, b"a message\n")
    # What sits in a buffer (a pipe's stdout is buffered by the block) is written too.
    buffered = {name: value for name, value in os.environ.items()
                if name != "PYTHONUNBUFFERED"}
    printed = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom deckbuilder import cli\n"
         "cli.main = lambda: (print('buffered'), sys.exit(1))\ncli.run()"],
        capture_output=True, timeout=60, env=buffered)
    assert (printed.returncode, printed.stdout) == (1, b"buffered\n")
    # Work left for the exit (coverage, a profiler) is done: the usual exit then.
    registered = subprocess.run(
        [sys.executable, "-c", "import atexit, sys\nfrom deckbuilder import cli\n"
         "atexit.register(print, 'at exit')\ncli.main = lambda: sys.exit(0)\ncli.run()"],
        capture_output=True, timeout=60)
    assert (registered.returncode, registered.stdout) == (0, b"at exit\n")
    profile = tmp_path / "profile"
    profiled = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m",
                               "deckbuilder", "--version"], capture_output=True, timeout=60)
    assert profiled.returncode == 0 and profile.stat().st_size, profiled.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_or_closed_stdout_is_said_once_without_a_traceback(example: Path,
                                                                  tmp_path: Path) -> None:
    """stdout on a full disk (/dev/full) gave an OSError traceback and exit 1; a stdout
    closed at start (`>&-`) gave cli.run's AttributeError traceback ('NoneType' object has
    no attribute 'flush') after the command's own work was done."""
    out = str(tmp_path / "out")
    for args in (["schema"], ["stats", str(example)], ["build", str(example), "--out", out]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "deckbuilder", *args], stdout=full,
                                  stderr=subprocess.PIPE, timeout=120)
        assert (done.returncode, done.stderr) == (
            1, b"error: cannot write to standard output: No space left on device\n"), args
    assert (tmp_path / "out" / "example-deck.apkg").is_file()  # written before it said so
    closed = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m",
                             "deckbuilder", "stats", str(example)],
                            stderr=subprocess.PIPE, timeout=120)
    assert (closed.returncode, closed.stderr) == (0, b"")


@pytest.mark.parametrize("module", ["click", "typing"])
@pytest.mark.parametrize("entry", ["-m deckbuilder", "console script"])
def test_ctrl_c_while_the_modules_load_is_no_traceback(entry: str, module: str) -> None:
    """A Ctrl-C in the first 40 ms (click and the commands loading) printed a
    KeyboardInterrupt traceback. The interruption is made to arrive exactly there: while
    click is imported, or typing (15 ms, imported by start.py itself before its try)."""
    interrupt = ("import sys\n"
                 "class Interrupt:\n"
                 "    def find_spec(self, name, path=None, target=None):\n"
                 f"        if name == {module!r}:\n"
                 "            raise KeyboardInterrupt\n"
                 "sys.meta_path.insert(0, Interrupt())\n")
    if entry == "-m deckbuilder":
        code = interrupt + "import runpy; runpy.run_module('deckbuilder', run_name='__main__')"
    else:  # what the installed script runs
        from importlib.metadata import distribution

        (point,) = [point for point in distribution("anki-deckbuilder").entry_points
                    if point.group == "console_scripts" and point.name == "deckbuilder"]
        module, _, function = point.value.partition(":")
        code = interrupt + f"from {module} import {function}; {function}()"
    done = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "Aborted!\n")


def test_a_ctrl_c_once_the_command_is_done_is_no_traceback() -> None:
    """A real SIGINT that comes after the command's work, as the program flushes its
    output and ends (cli.run): it printed a KeyboardInterrupt traceback under the report
    of a build that had written everything, and the exit status was the signal's (seen
    with Ctrl-C at random moments of real builds)."""
    script = ("import os, signal, sys, time\nfrom deckbuilder import cli\n"
              "class Out:\n"
              "    def write(self, text): return len(text)\n"
              "    def flush(self):\n"
              "        os.kill(os.getpid(), signal.SIGINT)\n"
              "        time.sleep(0.1)\n"
              "sys.stdout = Out()\n"
              "cli.main = lambda: sys.exit(0)\ncli.run()")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
