"""Nothing lost, nothing live: concurrent builds, watch mode, and HTML in card texts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DECK_YAML, AnkiImport, run, write_deck

from deckbuilder.anki import note_guid
from deckbuilder.lock import read_lock

HOSTILE = """
section: A
cards:
  - id: xss
    front: "Hello <script>alert(1)</script> <img src=x onerror=alert(2)>?"
    back: "[click](javascript:alert(3))"
"""


def test_script_and_event_handlers_never_reach_anki_live(tmp_path: Path,
                                                         anki: AnkiImport) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": HOSTILE})
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki.load(tmp_path / "out" / "test-deck.apkg")
    note = anki.note_by_guid(note_guid("test-deck", "xss"))
    assert note["Front"] == ("Hello &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x "
                             "onerror=alert(2)&gt;?")
    assert note["Back"] == "[click](javascript:alert(3))"  # not a link


def test_raw_html_only_when_the_deck_opts_in(tmp_path: Path, anki: AnkiImport) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML + "html: true\n",
                                           "01-a.yaml": HOSTILE.replace(
                                               " <img src=x onerror=alert(2)>", "")})
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki.load(tmp_path / "out" / "test-deck.apkg")
    note = anki.note_by_guid(note_guid("test-deck", "xss"))
    assert note["Front"] == "Hello <script>alert(1)</script>?"


def _deckbuilder(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "deckbuilder", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_two_builds_at_once_both_finish_cleanly(example: Path, tmp_path: Path,
                                                anki: AnkiImport) -> None:
    out = tmp_path / "out"
    builds = [_deckbuilder("build", str(example), "--out", str(out)) for _ in range(2)]
    outputs = [b.communicate(timeout=60)[0] for b in builds]
    assert [b.returncode for b in builds] == [0, 0], outputs
    assert sorted(o.splitlines()[1] for o in outputs) == [
        "changes since the last build: 0 added, 0 changed, 6 unchanged, 0 removed, 0 moved",
        "first build: 6 cards added"]
    assert len(read_lock(example / "deck.lock", "deck.lock", "example-deck").cards) == 6
    assert sorted(p.name for p in out.iterdir()) == [".deckbuilder-cache", "example-deck.apkg"]
    assert len(anki.load(out / "example-deck.apkg").new) == 6


def _save_until(path: Path, text: str, log: Path, expected: str) -> None:
    """Save ``text`` until the watcher's log shows ``expected``: the watcher may start
    observing a moment after it says so, and a save in that moment goes unseen."""
    for _ in range(40):
        path.write_text(text)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            if expected in log.read_text():
                return
            time.sleep(0.05)
    raise AssertionError(f"{expected!r} never appeared in:\n{log.read_text()}")


def test_watch_rebuilds_and_survives_invalid_saves(example: Path, tmp_path: Path) -> None:
    log = tmp_path / "watch.log"
    out = tmp_path / "out"
    with log.open("w") as handle:
        watcher = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", str(example),
                                    "--out", str(out), "--watch"], stdout=handle,
                                   stderr=subprocess.STDOUT, env={**os.environ,
                                                                  "PYTHONUNBUFFERED": "1"})
    try:
        basics = example / "01-basics.yaml"
        good = basics.read_text()
        deadline = time.monotonic() + 30
        while "watching" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # the first build is done
        _save_until(basics, good.replace("back: Paris", "bak: Paris"), log,
                    "unknown key 'bak'; did you mean 'back'?")
        _save_until(basics, good.replace("back: Paris", "back: Paris, France"), log,
                    "  changed: capital-france")
        assert watcher.poll() is None  # still running
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def test_interrupted_write_leaves_the_old_package_and_no_partial_file(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder import package

    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    before = (out / "example-deck.apkg").read_bytes()
    (example / "01-basics.yaml").write_text(
        (example / "01-basics.yaml").read_text().replace("back: Paris", "back: Lyon"))

    def interrupted(source: object, target: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(package.os, "replace", interrupted)
    result = run("build", example, "--out", out)  # click turns Ctrl-C into "Aborted!"
    assert (result.exit_code, result.output.splitlines()[-1]) == (1, "Aborted!")
    assert (out / "example-deck.apkg").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [".deckbuilder-cache", "example-deck.apkg"]
    assert not [p for p in (out / ".deckbuilder-cache").iterdir() if p.suffix == ".tmp"]


def test_package_and_lock_are_written_together_or_not_at_all(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder import package

    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    before = (out / "example-deck.apkg").read_bytes()
    lock_before = (example / "deck.lock").read_bytes()
    basics = example / "01-basics.yaml"
    basics.write_text(basics.read_text().replace("back: Paris", "back: Lyon"))
    real_open = os.open

    def read_only_deck_folder(path: object, *args: object, **options: object) -> int:
        if ".deck.lock." in str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(package.os, "open", read_only_deck_folder)
    result = run("build", example, "--out", out)
    assert (result.exit_code, result.output) == (
        1, f"error: cannot write {example}/deck.lock: Permission denied\n")
    assert (out / "example-deck.apkg").read_bytes() == before
    assert (example / "deck.lock").read_bytes() == lock_before
    assert sorted(p.name for p in out.iterdir()) == [".deckbuilder-cache", "example-deck.apkg"]
