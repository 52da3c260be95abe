"""The pre-commit hooks name real commands that do what the hook promises."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from conftest import DECK_YAML, run, write_deck

ROOT = Path(__file__).resolve().parents[1]
HOOKS = {hook["id"]: hook for hook in yaml.safe_load(
    (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}


def test_hooks_are_declared_as_pre_commit_expects() -> None:
    assert set(HOOKS) == {"deckbuilder-validate", "deckbuilder-build-check"}
    for hook in HOOKS.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[0] == "deckbuilder"
        for path in ("cards/01-foundations.yaml", "cards/deck.lock", "cards/media/map.png",
                     "deck.yaml", "media/map.png"):
            assert re.search(hook["files"], path), (hook["id"], path)
        assert not re.search(hook["files"], "src/deckbuilder/cli.py")


def _hook(hook_id: str, *args: str | Path):  # type: ignore[no-untyped-def]
    return run(*shlex.split(HOOKS[hook_id]["entry"])[1:], *args)


def test_validate_hook_fails_on_a_broken_deck(tmp_path: Path, example: Path) -> None:
    assert _hook("deckbuilder-validate", example).exit_code == 0
    broken = write_deck(tmp_path / "broken", {"deck.yaml": DECK_YAML, "01-a.yaml": "section: A\n"})
    assert _hook("deckbuilder-validate", broken).exit_code == 1


def test_build_check_hook_fails_until_the_build_is_committed(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the hook runs in the repository root: the package is build/
    assert _hook("deckbuilder-build-check", example).exit_code == 1
    assert run("build", example).exit_code == 0
    assert _hook("deckbuilder-build-check", example).exit_code == 0
