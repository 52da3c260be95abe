"""The cyclic garbage collector: off for one-off commands (a deck is acyclic data, and
walking it cost a 10,000-card build 20-30 ms), on for `build --watch`, which lives on."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckbuilder import cli


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the collector is undone for the next one."""
    enabled = gc.isenabled()
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def test_a_one_off_command_runs_without_the_collector(collector: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(cli, "cli", lambda **kwargs: seen.append(gc.isenabled()))
    gc.enable()
    cli.main()
    assert seen == [False]


def test_build_watch_turns_the_collector_back_on(collector: None, example: Path,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import watchfiles

    from deckbuilder import anki, cache, database, lock

    # What --watch keeps in memory between rebuilds is put back for the other tests.
    for module, name in ((anki, "_known"), (cache, "_memory"), (lock, "_kept"),
                         (database, "_kept"), (database, "_remember")):
        monkeypatch.setattr(module, name, getattr(module, name))

    def no_saves(*args: object, **kwargs: object) -> Iterator[object]:
        return iter(())  # the watch ends at once: no file is ever saved

    monkeypatch.setattr(watchfiles, "watch", no_saves)
    gc.disable()  # as cli.main leaves it
    result = CliRunner().invoke(cli.cli, ["build", str(example), "--out", str(tmp_path / "out"),
                                          "--watch"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
