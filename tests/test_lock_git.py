"""The lock in git: two branches merged with the driver the README gives, or resolved after
a conflict, and what a learner of either branch then receives. Real git, real Anki."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import AnkiImport, run

from deckbuilder.anki import note_guid
from deckbuilder.load import load_deck
from deckbuilder.lock import Lock, read_lock

ROOT = Path(__file__).resolve().parents[1]
DECK_ID = "nato-collective-security"

def _times() -> tuple[int, int, int, int]:
    """Build times for base, A, B and the merge: after every mod in the committed lock, and
    in the past, so that a learner's edit made now is newer than any of these packages."""
    lock = (ROOT / "cards" / "deck.lock").read_text()
    start = max(int(line.split("\t")[6]) for line in lock.splitlines()
                if line.startswith("card\t")) + 1
    while time.time() < start + 4:  # only just after a fresh build of the deck
        time.sleep(0.2)
    return start, start + 1, start + 2, start + 3


BASE, TIME_A, TIME_B, TIME_MERGED = _times()


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent),
           # the driver runs `deckbuilder` from this virtual environment, as a user's would
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def build(cards: Path, out: Path, epoch: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    result = run("build", cards, "--out", out)
    assert result.exit_code == 0, result.output
    return result.output


def lock_of(cards: Path) -> Lock:
    return read_lock(cards / "deck.lock", "deck.lock", DECK_ID)  # raises when damaged


def rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000),
                    encoding="utf-8")


def edit_card(path: Path, card_id: str, words: str) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        card = next(c for c in data["cards"] if c["id"] == card_id)
        card["extra"] = f"{card.get('extra', '')} {words}".strip()
    rewrite(path, change)


class Story:
    """main with the NATO deck; A edits x and adds a card; B edits y (x's neighbour in the
    lock, in another file), removes r and renames a section."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, driver: bool) -> None:
        self.repo = root / "repo"
        self.out = root / "out"
        self.cards = self.repo / "cards"
        shutil.copytree(ROOT / "cards", self.cards)
        self.repo.joinpath(".gitignore").write_text(".cache/\n")
        git(self.repo, "init", "-q", "-b", "main")
        if driver:  # exactly the two lines the README gives
            self.repo.joinpath(".gitattributes").write_text("deck.lock merge=deckbuilder\n")
            git(self.repo, "config", "merge.deckbuilder.driver",
                "deckbuilder merge-lock %O %A %B")
        deck = load_deck(self.cards).deck
        self.files = {card.id: self.cards / f"{s.stem}.yaml"
                      for s in deck.sections for card in s.cards}
        ids = sorted(self.files)
        self.x, self.y = next((a, b) for a, b in itertools.pairwise(ids)
                              if self.files[a] != self.files[b])
        used = {self.files[self.x], self.files[self.y]}
        self.renamed = next(s for s in deck.sections if self.cards / f"{s.stem}.yaml" not in used)
        used.add(self.cards / f"{self.renamed.stem}.yaml")
        self.r = next(c for c in ids if self.files[c] not in used and
                      len([d for d in ids if self.files[d] == self.files[c]]) > 1)
        self.untouched = [c for c in ids if self.files[c] not in
                          {self.files[self.x], self.files[self.y], self.files[self.r]}
                          and c not in {card.id for card in self.renamed.cards}]
        self.base_package = self.snapshot(BASE, monkeypatch, "base")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "base")
        self.base = lock_of(self.cards)

        git(self.repo, "checkout", "-qb", "a")
        edit_card(self.files[self.x], self.x, "Edited on branch A.")
        rewrite(self.files[self.x], lambda d: d["cards"].append(
            {"id": "added-on-a", "front": "A question added on branch A?", "back": "Yes"}))
        self.a_package = self.snapshot(TIME_A, monkeypatch, "a")
        git(self.repo, "commit", "-qam", "a")
        self.a = lock_of(self.cards)

        git(self.repo, "checkout", "-q", "main")
        git(self.repo, "checkout", "-qb", "b")
        edit_card(self.files[self.y], self.y, "Edited on branch B.")
        rewrite(self.files[self.r], lambda d: d.__setitem__(
            "cards", [c for c in d["cards"] if c["id"] != self.r]))
        rewrite(self.cards / f"{self.renamed.stem}.yaml",
                lambda d: d.__setitem__("section", "Renamed on branch B"))
        self.snapshot(TIME_B, monkeypatch, "b")
        git(self.repo, "commit", "-qam", "b")
        self.b = lock_of(self.cards)
        git(self.repo, "checkout", "-q", "a")

    def snapshot(self, epoch: int, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
        build(self.cards, self.out, epoch, monkeypatch)
        kept = self.out.parent / f"{name}.apkg"
        shutil.copy(self.out / f"{DECK_ID}.apkg", kept)
        return kept


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Story:
    return Story(tmp_path, monkeypatch, driver=True)


def test_merge_with_the_driver_keeps_every_mod_right(story: Story, anki: AnkiImport,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    merged = git(story.repo, "merge", "-q", "--no-edit", "b", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert run("validate", story.cards).exit_code == 0
    build(story.cards, story.out, TIME_MERGED, monkeypatch)
    after = lock_of(story.cards)
    assert after.cards[story.x].mod == TIME_A
    assert after.cards["added-on-a"].mod == TIME_A
    assert after.cards[story.y].mod == TIME_B
    assert story.r not in after.cards
    for card in story.renamed.cards:  # moved to the renamed subdeck, content unchanged
        assert after.cards[card.id].mod == story.base.cards[card.id].mod
        assert after.cards[card.id].subdeck.endswith("Renamed on branch B")
    for card_id in story.untouched:
        assert after.cards[card_id].mod == story.base.cards[card_id].mod
    # Nothing the merged build wrote is older than either side's entry.
    for card_id, entry in after.cards.items():
        for side in (story.a, story.b):
            if card_id in side.cards:
                assert entry.mod >= side.cards[card_id].mod

    # A learner of branch A imports the merged package.
    anki.load(story.base_package)
    anki.load(story.a_package)
    mine = anki.note_by_guid(note_guid(DECK_ID, story.untouched[0]))
    mine["Extra"] = "my own note"
    anki.col.update_note(mine)
    anki.load(story.out / f"{DECK_ID}.apkg")
    assert "Edited on branch B." in anki.note_by_guid(note_guid(DECK_ID, story.y))["Extra"]
    assert "Edited on branch A." in anki.note_by_guid(note_guid(DECK_ID, story.x))["Extra"]
    assert anki.note_by_guid(note_guid(DECK_ID, story.untouched[0]))["Extra"] == "my own note"


def test_without_the_driver_the_conflict_is_reported_and_resolved_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_driver = Story(tmp_path / "with", monkeypatch, driver=True)
    git(with_driver.repo, "merge", "-q", "--no-edit", "b")
    expected = (with_driver.cards / "deck.lock").read_text()

    story = Story(tmp_path / "without", monkeypatch, driver=False)
    merged = git(story.repo, "merge", "-q", "--no-edit", "b", check=False)
    assert merged.returncode != 0
    assert "CONFLICT (content): Merge conflict in cards/deck.lock" in merged.stdout
    for command in (["validate"], ["build", "--out", story.out],
                    ["build", "--out", story.out, "--check"]):
        result = run(*command, story.cards)
        assert result.exit_code == 1
        assert f"{story.cards}/deck.lock:" in result.output
        assert "merge conflict in the lock: run `deckbuilder merge-lock --resolve`" \
            in result.output
        assert "delete" not in result.output.replace("do not edit or delete it", "")
        assert "listed twice" not in result.output  # both sides list the same cards
    result = run("merge-lock", "--resolve", story.cards / "deck.lock")
    assert result.exit_code == 0, result.output
    assert (story.cards / "deck.lock").read_text() == expected
    git(story.repo, "add", "cards/deck.lock")
    again = run("merge-lock", "--resolve", story.cards / "deck.lock")
    assert again.exit_code == 0
    assert "has no merge conflict: nothing to resolve" in again.output
    # Outside a merge (the index no longer has the three versions) the markers are enough.
    conflicted = git(story.repo, "show", "MERGE_HEAD:cards/deck.lock").stdout
    git(story.repo, "merge", "--abort")
    git(story.repo, "-c", "merge.conflictstyle=diff3", "merge", "-q", "--no-edit", "b",
        check=False)
    markers = (story.cards / "deck.lock").read_text()
    assert "|||||||" in markers and conflicted
    git(story.repo, "merge", "--abort")
    loose = tmp_path / "loose" / "deck.lock"
    loose.parent.mkdir()
    loose.write_text(markers)
    assert run("merge-lock", "--resolve", loose).exit_code == 0
    assert loose.read_text() == expected


def test_conflict_markers_in_a_section_file_are_a_located_error(story: Story) -> None:
    merged = git(story.repo, "merge", "-q", "--no-edit", "b", check=False)
    assert merged.returncode == 0
    path = story.files[story.untouched[0]]
    text = path.read_text().splitlines(keepends=True)
    text[3:3] = ["<<<<<<< HEAD\n", "=======\n", ">>>>>>> b\n"]
    path.write_text("".join(text))
    result = run("validate", story.cards)
    assert result.exit_code == 1
    assert f"{path}:4:1: merge conflict: this file still holds git's conflict markers" \
        in result.output
    assert f"{path}:6:1:" in result.output
