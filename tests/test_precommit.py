"""The pre-commit hooks name real commands that do what the hook promises, and the README's
configuration works as written with the real `pre-commit` in a deck repository."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DECK_YAML, run, write_deck

from deckbuilder import __version__
from deckbuilder.scaffold import REPOSITORY, precommit_config

ROOT = Path(__file__).resolve().parents[1]
HOOKS = {hook["id"]: hook for hook in yaml.safe_load(
    (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
README = (ROOT / "README.md").read_text(encoding="utf-8")
SNIPPET = re.search(r"```yaml\n(# \.pre-commit-config\.yaml.*?)```", README, re.S).group(1)


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


def test_readme_and_init_configure_pre_commit_alike() -> None:
    config = yaml.safe_load(SNIPPET)
    assert config == yaml.safe_load(precommit_config())
    (repo,) = config["repos"]
    assert repo["repo"] == REPOSITORY
    # The tag of this version: the release this checkout is (the lead tags it on main).
    assert repo["rev"] == f"v{__version__}"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{__version__}"\n' in pyproject
    assert [hook["id"] for hook in repo["hooks"]] == ["deckbuilder-build-check"]


BAD = """\
section: First cards
cards:
  - id: capital
    front: Which city is the capital of Australia?
    back: [Canberra]
  - id: boiling
    cloze: At sea level, water boils at {{c2::100 °C}}.
"""
PROBLEMS = ["cards/01-first-cards.yaml:5:11: 'back' must be text, found a list",
            "cards/01-first-cards.yaml:7:12: cloze numbers must run from c1 without gaps: c1 "
            "missing"]


def _release(tmp_path: Path, rev: str) -> Path:
    """This checkout, as the repository a user's pre-commit fetches: its files committed
    (working-tree changes included) and tagged with the README's rev."""
    release = tmp_path / "deckbuilder"
    shutil.copytree(ROOT, release, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis"))
    _git(release, "init", "-q")
    _git(release, "add", "-A")
    _git(release, "commit", "-q", "-m", "release")
    _git(release, "tag", rev)
    return release


GIT_ENV = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **GIT_ENV, **env})


def test_the_readme_configuration_with_real_pre_commit(tmp_path: Path) -> None:
    """A deck started with `init`, whose .pre-commit-config.yaml is the README's: a commit
    with errors stops, showing each problem exactly once; fixed and built, it passes."""
    rev = yaml.safe_load(SNIPPET)["repos"][0]["rev"]
    release = _release(tmp_path, rev)
    deck = tmp_path / "my-deck"
    assert run("init", deck).exit_code == 0
    (deck / ".pre-commit-config.yaml").write_text(SNIPPET.replace(REPOSITORY, str(release)))
    assert _git(deck, "init", "-q").returncode == 0
    home = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    install = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=deck,
                             capture_output=True, text=True, env={**os.environ, **home})
    assert install.returncode == 0, install.stderr

    good = (deck / "cards" / "01-first-cards.yaml").read_text(encoding="utf-8")
    (deck / "cards" / "01-first-cards.yaml").write_text(BAD, encoding="utf-8")
    _git(deck, "add", "-A")
    refused = _git(deck, "commit", "-m", "bad card", **home)
    shown = refused.stdout + refused.stderr
    assert refused.returncode == 1, shown
    assert "deckbuilder build --check" in shown and "Failed" in shown
    found = re.findall(r"^cards/\S+:\d+:\d+: .*$", shown, re.M)
    assert found == PROBLEMS, shown  # each problem once, nothing else located

    (deck / "cards" / "01-first-cards.yaml").write_text(good, encoding="utf-8")
    assert run("build", deck / "cards", "--out", deck / "build").exit_code == 0
    _git(deck, "add", "-A")
    done = _git(deck, "commit", "-m", "a new deck", **home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^deckbuilder build --check\.+Passed$", done.stderr, re.M), done.stderr
    committed = _git(deck, "ls-files").stdout.split()
    assert {"build/my-deck.apkg", "cards/deck.lock", ".gitignore"} <= set(committed)
    assert not [name for name in committed if ".deckbuilder-cache" in name]
