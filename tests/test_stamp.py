"""The build stamp: a build or validate where nothing changed answers without parsing, and
any change at all (by content, whatever the mtime) gives the full build's answer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run

from deckbuilder.stamp import read_stamp, stamp_path


def _keep_times(path: Path, change: Callable[[Path], None]) -> None:
    """Change ``path`` but keep its size and mtime: only a content hash can see it."""
    before = os.stat(path)
    change(path)
    assert os.stat(path).st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


@pytest.fixture
def built(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example deck built into tmp_path/build, commands run in tmp_path."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    first = run("build", "cards", "--out", "build")
    assert first.exit_code == 0, first.output
    return tmp_path / "build" / "example-deck.apkg"


def _rewritten(package: Path, *args: str) -> tuple[bool, str]:
    """Build again: whether the package file was replaced (the full build renames a new
    file into place; the stamp leaves it as it is), and what the build printed."""
    inode = os.stat(package).st_ino
    result = run("build", "cards", "--out", "build", *args)
    assert result.exit_code == 0, result.output
    return os.stat(package).st_ino != inode, result.output


def test_nothing_changed_writes_nothing_and_says_what_a_full_build_says(built: Path) -> None:
    rewritten, full = _rewritten(built)  # the first rebuild: the cold build's stamp
    assert not rewritten
    before = built.read_bytes()
    stamp_path(Path("cards"), Path("build")).unlink()
    rewritten, slow = _rewritten(built)  # no stamp: the full build
    assert rewritten and built.read_bytes() == before
    assert full == slow
    assert "changes since the last build: 0 added, 0 changed, 6 unchanged" in full


@pytest.mark.parametrize("change", [
    "section bytes", "deck.yaml bytes", "media bytes", "lock bytes", "package bytes",
    "new section", "removed section", "split", "other out folder",
])
def test_any_change_means_a_full_build(built: Path, change: str) -> None:
    cards, out = Path("cards"), "build"
    args: list[str] = []
    if change == "section bytes":  # same size and mtime: a new answer
        _keep_times(cards / "01-basics.yaml",
                    lambda p: p.write_text(p.read_text().replace("Paris", "Lyon!")))
    elif change == "deck.yaml bytes":
        _keep_times(cards / "deck.yaml", lambda p: p.write_text(p.read_text().replace(
            "Example", "Exbmple")))
    elif change == "media bytes":
        _keep_times(cards / "media" / "outline.png", _flip_last_byte)
    elif change == "lock bytes":
        _keep_times(cards / "deck.lock", lambda p: p.write_text(p.read_text().replace(
            "written by", "WRITTEN BY")))
    elif change == "package bytes":
        _keep_times(built, _flip_last_byte)
    elif change == "new section":
        (cards / "03-more.yaml").write_text(
            "section: More\ncards:\n  - id: more\n    front: a\n    back: b\n")
    elif change == "removed section":
        (cards / "02-maths.yaml").unlink()
    elif change == "split":
        args = ["--split"]
    elif change == "other out folder":
        out = "elsewhere"
    lock_before = (cards / "deck.lock").read_text()
    result = run("build", "cards", "--out", out, *args)
    assert result.exit_code == 0, result.output
    assert run("build", "cards", "--out", "cold", *args).exit_code == 0  # lock matches now
    assert Path(out, "example-deck.apkg").read_bytes() == Path(
        "cold", "example-deck.apkg").read_bytes()
    if change == "lock bytes":  # the full build writes the lock it would write anyway
        assert (cards / "deck.lock").read_text() == lock_before.replace("WRITTEN BY",
                                                                        "written by")
    if change == "split":
        assert sorted(p.name for p in Path(out).glob("*--*.apkg")) == [
            "example-deck--01-basics.apkg", "example-deck--02-maths.apkg"]


def test_a_section_saved_with_an_upper_case_extension_is_reported(built: Path) -> None:
    # It was silently left out; now it is an error, so the stamp must see it too.
    (Path("cards") / "03-more.YAML").write_text(
        "section: More\ncards:\n  - id: more\n    front: a\n    back: b\n")
    for command in ("validate", "build"):
        result = run(command, "cards", *(["--out", "build"] if command == "build" else []))
        assert result.exit_code == 1, result.output
        assert result.output.startswith(
            "cards/03-more.YAML: a section file name ends in .yaml or .yml, in lower case: "
            "rename it to 03-more.yaml\n"), result.output


def test_a_deck_edit_that_keeps_size_and_mtime_is_rebuilt(built: Path) -> None:
    section = Path("cards/01-basics.yaml")
    _keep_times(section, lambda p: p.write_text(p.read_text().replace("Paris", "Lyon!")))
    rewritten, output = _rewritten(built)
    assert rewritten
    assert "1 changed" in output


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "symlink", "folder",
                                    "foreign marshal"])
def test_a_damaged_stamp_is_only_a_full_build(built: Path, damage: str) -> None:
    path = stamp_path(Path("cards"), Path("build"))
    data = path.read_bytes()
    path.unlink()
    if damage == "garbage":
        path.write_bytes(b"\x00not a stamp" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "symlink":
        path.symlink_to("/dev/zero")
    elif damage == "folder":
        path.mkdir()
    else:
        import marshal

        path.write_bytes(marshal.dumps((1, "x", [1, 2], {"a": None})))
    before = built.read_bytes()
    rewritten, output = _rewritten(built)
    assert rewritten and built.read_bytes() == before
    assert "6 unchanged" in output
    validated = run("validate", "cards")
    assert validated.exit_code == 0 and "no errors" in validated.output


def test_validate_after_a_build_answers_and_sees_every_edit(built: Path) -> None:
    quick = run("validate", "cards")
    os.unlink(stamp_path(Path("cards"), Path("build")))
    slow = run("validate", "cards")
    assert (quick.exit_code, quick.output) == (slow.exit_code, slow.output) == (
        0, "cards: 2 sections, 6 notes, 8 cards, no errors\n")
    assert run("build", "cards", "--out", "build").exit_code == 0  # stamp again
    _keep_times(Path("cards/02-maths.yaml"),
                lambda p: p.write_text(p.read_text().replace("id:", "iD:", 1)))
    broken = run("validate", "cards")
    assert broken.exit_code == 1
    assert "02-maths.yaml:" in broken.output


def test_validate_json_from_the_stamp_is_the_full_answer(built: Path) -> None:
    quick = run("validate", "cards", "--format", "json")
    os.unlink(stamp_path(Path("cards"), Path("build")))
    assert run("validate", "cards", "--format", "json").output == quick.output == "[]\n"


def test_a_bad_source_date_epoch_is_reported_even_when_nothing_changed(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = run("build", "cards", "--out", "build")
    assert result.exit_code == 1
    assert "SOURCE_DATE_EPOCH" in result.output


def test_media_replaced_by_a_symlink_out_of_the_deck_is_refused_as_cold(built: Path) -> None:
    """The stamp and the section cache hash media by content: the same bytes moved out of
    the deck and linked back must still be the error a cold run reports."""
    image = Path("cards/media/outline.png")
    outside = Path("outline.png")
    image.rename(outside)
    image.symlink_to(outside.resolve())
    for args in (("validate", "cards"), ("build", "cards", "--out", "build", "--check"),
                 ("build", "cards", "--out", "build")):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "media 'media/outline.png' is outside the deck folder" in result.output


def test_a_composed_name_beside_a_decomposed_one_is_what_a_cold_build_packs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[sound:media/café.mp3] finds 'cafe' + U+0301 only while no file has the composed
    name: one created later is the file a cold build packs, so the stamp and the cache
    must not go on with the other."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards" / "media").mkdir(parents=True)
    (tmp_path / "cards" / "deck.yaml").write_text("deck: N\nid: n\n")
    (tmp_path / "cards" / "01-s.yaml").write_text(
        'section: S\ncards:\n  - id: a\n    front: "x [sound:media/caf\u00e9.mp3]"\n'
        "    back: y\n", encoding="utf-8")
    (tmp_path / "cards" / "media" / "cafe\u0301.mp3").write_bytes(b"ID3" + b"a" * 100)
    assert run("build", "cards").exit_code == 0
    (tmp_path / "cards" / "media" / "caf\u00e9.mp3").write_bytes(b"ID3" + b"b" * 100)
    for args in (("build", "cards", "--check"), ("validate", "cards")):
        result = run(*args)
        assert result.exit_code == (1 if "--check" in args else 0), (args, result.output)
    package = tmp_path / "build" / "n.apkg"
    assert _rewritten(package)[0]  # the stamp is not trusted
    warm = package.read_bytes()
    stamp_path(Path("cards"), Path("build")).unlink()
    for entry in (tmp_path / "build" / ".deckbuilder-cache").glob("*.entry"):
        entry.unlink()
    assert run("build", "cards").exit_code == 0
    assert package.read_bytes() == warm


def test_a_library_installed_anew_makes_the_stamp_and_cache_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new markdown-it (or PyYAML, genanki) may render or read otherwise: what was made
    with the old one is not reused. A library stands in for one here, on sys.path."""
    from deckbuilder import stamp

    library = tmp_path / "site" / "renderlib"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(stamp, "DEPENDENCIES", (*stamp.DEPENDENCIES, "renderlib"))
    stamp.code_fingerprint.cache_clear()
    before = stamp.code_fingerprint()
    (library / "__init__.py").write_text("VERSION = 22\n")  # the upgrade
    stamp.code_fingerprint.cache_clear()
    try:
        assert stamp.code_fingerprint() != before
    finally:
        stamp.code_fingerprint.cache_clear()


@pytest.mark.parametrize("command", ["validate", "build"])
def test_a_planted_stamp_is_never_unmarshalled(example: Path, tmp_path: Path,
                                               command: str) -> None:
    """The stamp's path follows from the deck folder's (on CI, a known one), and marshal
    allocates the sizes its data declares: 5 committed bytes asked for a 16 GiB tuple
    (a MemoryError traceback, or the OOM killer on a machine with the memory to try)."""
    import resource
    import subprocess
    import sys

    out = tmp_path / "build"  # where validate looks, run from tmp_path
    assert run("build", example, "--out", out).exit_code == 0
    stamp_path(example, out).write_bytes(b"(" + (2**31 - 1).to_bytes(4, "little"))

    def limit() -> None:  # so that the allocation fails here instead of swapping
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    done = subprocess.run([sys.executable, "-m", "deckbuilder", command, str(example)],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit,
                          cwd=tmp_path)
    assert (done.returncode, "Traceback" in done.stderr) == (0, False), done.stderr


@pytest.mark.parametrize("planted", ["quick state", "section cache"])
def test_planted_cache_files_are_never_unmarshalled(example: Path, tmp_path: Path,
                                                    planted: str) -> None:
    """The quick rebuild's state sits at the stamp's path with another suffix, and a
    committed build folder can hold section entries: the same 5 bytes in either reached
    marshal before they were sealed like the stamp (the entries: a MemoryError traceback;
    the state: the same allocation, which the quick path's fallback hid)."""
    import resource
    import subprocess
    import sys

    from deckbuilder.quickstate import state_path

    out = tmp_path / "build"
    assert run("build", example, "--out", out).exit_code == 0
    bomb = b"(" + (2**31 - 1).to_bytes(4, "little")
    if planted == "quick state":
        state_path(example, out).write_bytes(bomb)
        command = ["-c", "import sys; from pathlib import Path; from deckbuilder.quickstate "
                   "import read_state; print(read_state(Path(sys.argv[1]), Path(sys.argv[2])))",
                   str(example), str(out)]
    else:
        entries = list((out / ".deckbuilder-cache").glob("*.entry"))
        assert entries
        for entry in entries:
            entry.write_bytes(bomb)
        stamp_path(example, out).unlink()  # else the stamp answers without the cache
        command = ["-m", "deckbuilder", "build", str(example), "--out", str(out)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    done = subprocess.run([sys.executable, *command], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit, cwd=tmp_path)
    assert (done.returncode, "Traceback" in done.stderr) == (0, False), done.stderr
    if planted == "quick state":
        assert done.stdout.strip() == "None"


def test_a_build_folder_inside_the_deck_keeps_the_first_stamp(example: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """`cd cards && deckbuilder build .` makes build/ inside the deck folder: its appearing
    changed the deck's listing during the first build, so that build left no stamp (nor
    the quick rebuild's state) and only the third build was a quick one."""
    monkeypatch.chdir(example)
    assert run("build", ".").exit_code == 0
    assert stamp_path(Path("."), Path("build")).is_file()
    assert read_stamp(stamp_path(Path("."), Path("build"))) is not None


def test_the_code_fingerprint_sees_every_code_file_and_only_those(tmp_path: Path) -> None:
    """Code and assets in every folder of the package, with their sizes and mtimes; not
    bytecode, other files, nor a folder linked from elsewhere."""
    from deckbuilder.stamp import _code_files

    for name in ("a.py", "commands/b.py", "assets/card.css", "assets/preview.html",
                 "__pycache__/a.cpython-311.pyc", "notes.txt", "elsewhere/c.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    os.utime(tmp_path / "commands" / "b.py", ns=(0, 1234))
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    found = {path: (size, mtime) for path, size, mtime in _code_files(str(tmp_path), "")}
    assert sorted(found) == sorted(["a.py", os.path.join("commands", "b.py"),
                                    os.path.join("assets", "card.css"),
                                    os.path.join("assets", "preview.html"),
                                    os.path.join("elsewhere", "c.py")])
    assert found[os.path.join("commands", "b.py")] == (len("commands/b.py"), 1234)
