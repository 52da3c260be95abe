"""CPU time of each stage of loading a deck, in-process: YAML, checking, rendering.

``python benchmarks/stages.py DECK_DIR [ROUNDS]`` prints the median of ROUNDS (5) runs.
CPU time (``process_time``), not wall time, so that other work on the machine moves the
figures less; the sections are loaded one after the other, as a small deck is, each
file's tree let go once checked.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

from deckbuilder.check import check_head, check_section
from deckbuilder.errors import Problems
from deckbuilder.render import Renderer
from deckbuilder.source import find_deck_files, load_yaml, read_bytes


def main() -> None:
    deck = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    gc.set_threshold(100_000, 50, 100)  # as the command line does
    times: dict[str, list[float]] = {"yaml": [], "check": [], "render": []}
    for _ in range(rounds):
        problems = Problems()
        files = find_deck_files(deck, problems)
        assert files is not None, problems.errors
        data = [(number, source, read_bytes(source, problems))
                for number, source in files.sections]
        spent = dict.fromkeys(times, 0.0)
        start = time.process_time()
        head = check_head(files.deck, problems,
                          load_yaml(files.deck, problems, read_bytes(files.deck, problems) or b""))
        spent["yaml"] += time.process_time() - start
        for number, source, raw in data:  # one section at a time, as load.py does
            start = time.process_time()
            tree = load_yaml(source, problems, raw or b"")
            loaded = time.process_time()
            section = check_section(source, number, head, problems, tree)
            del tree
            checked = time.process_time()
            if section is not None:
                Renderer(deck, head.html, problems).section(section)
            rendered = time.process_time()
            spent["yaml"] += loaded - start
            spent["check"] += checked - loaded
            spent["render"] += rendered - checked
        assert not problems.errors, [str(p) for p in problems.errors[:3]]
        for name, value in spent.items():
            times[name].append(value)
    print("; ".join(f"{name} {statistics.median(values) * 1000:.0f} ms"
                    for name, values in times.items()))


if __name__ == "__main__":
    main()
