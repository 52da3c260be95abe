"""The benchmark's peer rows (benchmarks/peers.py, peer_formats.py, results.py): each peer's
input holds every generated note, notes are counted in real packages, rows and the check
against the peers come out right, and a peer that cannot install is left out with a reason."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
try:
    import deckgen
    import peer_formats
    import peers
    import results
finally:
    sys.path.pop(0)

CARDS = 300


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return deckgen.write_deck(CARDS, tmp_path_factory.mktemp("bench") / "cards")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_each_peer_input_holds_every_note(notes: Path, tmp_path: Path) -> None:
    data = peer_formats.load(notes)
    fronts = {n["fields"][0] for s in data["sections"] for n in s["notes"] if n["kind"] != "cloze"}
    for peer in peers.PEERS:
        peer.write(data, tmp_path / peer.name)

    librarian = sorted((tmp_path / "anki-librarian" / "decks" / "benchmark").glob("*.yaml"))
    deck = _yaml(librarian[0].with_name("deck.yaml"))
    assert [m["name"] for m in deck["models"]] == list(peer_formats.MODEL_NAMES.values())
    rows = [row for path in librarian if path.name != "deck.yaml"
            for row in _yaml(path)["cards"]["notes"]]
    assert len(rows) == CARDS and fronts <= {row[0] for row in rows}

    yaml_tool = [_yaml(path) for path in (tmp_path / "anki-yaml-tool" / "decks").glob("*.yaml")]
    assert sum(len(doc["data"]) for doc in yaml_tool) == CARDS
    assert all(set(row) == {f.lower() for f in doc["config"]["fields"]} | {"tags", "id"}
               for doc in yaml_tool for row in doc["data"])

    pages = sorted((tmp_path / "markdown-anki-decks" / "decks").glob("*.md"))
    assert [page.read_text().split("\n", 1)[0] for page in pages] == [
        "# " + s["subdeck"].split("::", 1)[1] for s in data["sections"]]
    markdown = "".join(page.read_text() for page in pages)
    assert markdown.count("\n## ") == CARDS
    assert "<em>" not in markdown and "*" in markdown  # Markdown, not deckgen's HTML

    brew = tmp_path / "brain-brew"
    recipe = _yaml(brew / "recipe.yaml")
    mappings = recipe[0]["build_parts"][-1]["notes_from_csvs"]["file_mappings"]
    csv_rows = [row for m in mappings
                for row in csv.DictReader((brew / m["file"]).open(encoding="utf-8"))]
    assert len(csv_rows) == CARDS and len({row["guid"] for row in csv_rows}) == CARDS
    model_ids = [_yaml(path)["id"] for path in (brew / "src" / "models").glob("*.yaml")]
    assert len(model_ids) == 3 and len(set(model_ids)) == 3  # CrowdAnki tells them apart by id


def test_notes_are_counted_in_each_package_collection_and_crowdanki_folder(
        notes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("one.apkg", "two.apkg"):
        subprocess.run([sys.executable, str(BENCHMARKS / "plain_genanki.py"), str(notes),
                        str(out / name)], check=True)
    assert peers.count_notes(out, apkg=True) == 2 * CARDS

    crowdanki = tmp_path / "crowdanki"
    crowdanki.mkdir()
    (crowdanki / "deck.json").write_text(json.dumps(
        {"notes": [{}] * 2, "children": [{"notes": [{}] * 3, "children": [{"notes": [{}]}]}]}))
    assert peers.count_notes(crowdanki, apkg=False) == 6


@dataclass
class _Job:
    name: str
    seconds: float
    mib: float
    baseline: _Job | None = None
    target: float = 0.0
    memory_target: float | None = None
    samples: list[float] = field(default_factory=list)

    def median(self, what: str) -> float:
        return self.seconds if what == "seconds" else self.mib


def test_rows_and_the_check_against_the_fastest_peer(tmp_path: Path) -> None:
    plain = _Job("genanki 10k", 0.4, 40)
    cold = _Job("build 10k cold", 0.6, 60, plain, target=1.5, memory_target=1.6)
    slow, quick = _Job("slow 10k (peer)", 3.0, 50, plain), _Job("quick 10k (peer)", 0.5, 45, plain)
    found = results.rows([plain, cold, slow, quick])
    assert found[1] == {"scenario": "build 10k cold", "seconds": 0.6, "baseline_seconds": 0.4,
                        "ratio": 1.5, "target": "<= 1.5x", "result": "PASS", "peak_mb": 60,
                        "baseline_peak_mb": 40}
    assert found[2]["scenario"] == "build 10k cold: peak memory" and found[2]["result"] == "PASS"
    assert results.peer_check(cold, []) is None
    check = results.peer_check(cold, [slow, quick])
    assert check is not None and check["baseline_seconds"] == 0.5 and check["result"] == "FAIL"
    assert "quick 10k (peer)" in check["scenario"]
    assert results.peer_check(cold, [slow])["result"] == "PASS"  # type: ignore[index]

    results.write(tmp_path / "rows.json", "a machine", 5, [*found, check], ["a note"])
    written = json.loads((tmp_path / "rows.json").read_text())
    assert written["rows"][-1] == check and written["peers"] == ["a note"]


def test_a_peer_that_does_not_install_is_left_out_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "CACHE", tmp_path / "cache")
    missing = tmp_path / "no-such-peer-1.0-py3-none-any.whl"
    peer = peers.Peer("nothing", str(missing), "nothing", (), peer_formats.brain_brew, "-")
    reason = peers.install(peer)
    assert isinstance(reason, str) and reason.startswith(f"could not install {missing}")
    assert not (tmp_path / "cache" / "nothing" / "installed").exists()


def test_a_peer_that_fails_or_makes_too_few_notes_is_left_out_with_the_reason(
        notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "CACHE", tmp_path / "cache")
    scripts = {"failing": "echo 'Error: no deck here' >&2; exit 3",
               "idle": "exit 0",  # like a tool that reports a failed file and exits 0
               "copying": f"cp '{tmp_path / 'plain.apkg'}' out/"}
    subprocess.run([sys.executable, str(BENCHMARKS / "plain_genanki.py"), str(notes),
                    str(tmp_path / "plain.apkg")], check=True)
    chosen = []
    for name, script in scripts.items():
        venv = tmp_path / "cache" / name
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / name).write_text(f"#!/bin/sh\n{script}\n")
        (venv / "bin" / name).chmod(0o755)
        (venv / "installed").write_text(name)
        chosen.append(peers.Peer(name, name, name, (), peer_formats.anki_yaml_tool, "less"))
    monkeypatch.setattr(peers, "PEERS", tuple(chosen))

    ready, report = peers.runs(tmp_path / "peers", notes, lambda line: None)
    assert [run.name for run in ready] == ["copying 300 (peer)"]
    assert report == ["failing: left out: exit 3: Error: no deck here",
                      f"idle: left out: made 0 notes, not {CARDS}",
                      f"copying: {CARDS} notes in .apkg files (checked); less"]
