"""The cyclic garbage collector: off for one-off commands (a deck is acyclic data, and
walking it cost a 10,000-card build 20-30 ms); `build --watch`, which lives on, runs it
once after each rebuild, never during one."""

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


def test_build_watch_collects_after_each_rebuild_not_during(collector: None, example: Path,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import watchfiles

    from deckbuilder import anki, cache, database, keptrows, lock, zipwrite
    from deckbuilder.commands import build

    # What --watch keeps in memory between rebuilds is put back for the other tests.
    for module, name in ((anki, "_known"), (cache, "_memory"), (lock, "_kept"), (lock, "_lines"),
                         (database, "_kept"), (database, "_remember"), (keptrows, "_made"),
                         (zipwrite, "_last")):
        monkeypatch.setattr(module, name, getattr(module, name))

    def one_save(*args: object, **kwargs: object) -> Iterator[object]:
        # the watcher's first report (nothing saved: the first build), then one save
        return iter([set(), {("modified", str(example / "01-basics.yaml"))}])

    events: list[str] = []
    build_once, collect = build._build_once, gc.collect

    def building(*args: object, **kwargs: object) -> bool:
        events.append(f"build, collector {'on' if gc.isenabled() else 'off'}")
        return build_once(*args, **kwargs)  # type: ignore[arg-type]

    def collecting(*args: int) -> int:
        events.append("collect")
        return collect(*args)

    monkeypatch.setattr(watchfiles, "watch", one_save)
    monkeypatch.setattr(build, "_build_once", building)
    monkeypatch.setattr(gc, "collect", collecting)
    gc.enable()
    result = CliRunner().invoke(cli.cli, ["build", str(example), "--out", str(tmp_path / "out"),
                                          "--watch"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert events == ["build, collector off", "collect"] * 2
