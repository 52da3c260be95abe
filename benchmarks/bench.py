"""deckbuilder against a plain genanki script, on generated decks; see README.md.

Every command runs as a fresh process, all of them in turn each round (the order
reversed every other round), and the table shows the medians.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import peers
import results
from deckgen import write_deck

DECKBUILDER = str(Path(sys.executable).with_name("deckbuilder"))
BUILD = [DECKBUILDER, "build", "cards", "--out", "build"]  # run in a Workspace's root
VALIDATE = [DECKBUILDER, "validate", "cards"]
PLAIN_GENANKI = [sys.executable, str(Path(__file__).with_name("plain_genanki.py"))]
PLAIN_IMPORT = [sys.executable, str(Path(__file__).with_name("plain_import.py"))]
try:  # the sync scenarios need the official Anki library (the sync or test extra)
    import anki  # noqa: F401

    SYNC = True
except ImportError:
    SYNC = False
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
_EDITS = itertools.count(1)


@dataclass(frozen=True)
class Sample:
    seconds: float
    mib: float  # peak resident memory


@dataclass
class Job:
    """One command timed every round, compared with ``baseline`` (or in seconds without one)."""

    name: str
    argv: list[str]
    cwd: Path | None = None
    prepare: Callable[[], None] = lambda: None
    baseline: Job | None = None
    target: float = 0.0
    memory_target: float | None = None  # peak memory against the baseline's
    samples: list[Sample] = field(default_factory=list)
    timed: Callable[[], Sample] | None = None  # a scenario that is not one whole process

    def sample(self) -> Sample:
        return self.timed() if self.timed else measure(self.argv, self.cwd)

    def median(self, what: str) -> float:
        return float(statistics.median(getattr(sample, what) for sample in self.samples))


@dataclass(frozen=True)
class Workspace:
    """A generated deck in the README's layout: ROOT/cards, built into ROOT/build.

    Commands run in ROOT, so ``validate`` sees the build folder where it would by default.
    """

    size: int
    root: Path

    @property
    def deck(self) -> Path:
        return self.root / "cards"

    @property
    def out(self) -> Path:
        return self.root / "build"

    @property
    def label(self) -> str:
        return f"{self.size // 1000}k" if self.size % 1000 == 0 else str(self.size)


def measure(argv: list[str], cwd: Path | None = None) -> Sample:
    """Run ``argv`` in ``cwd`` as a fresh process; its wall time and peak resident memory."""
    with tempfile.TemporaryDirectory() as scratch:
        report, errors = Path(scratch, "time"), Path(scratch, "stderr")
        prefix = [GNU_TIME, "-f", "%M", "-o", str(report)] if GNU_TIME else []
        with errors.open("wb") as stderr:
            start = time.perf_counter()
            child = subprocess.Popen([*prefix, *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=stderr)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if child.returncode:
            sys.exit(f"{' '.join(argv)} failed:\n{errors.read_text()}")
        kib = int(report.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return Sample(seconds, kib / 1024)


def forget_build(ws: Workspace) -> None:
    """Start cold: no lock, no build folder (nor anything cached in it)."""
    (ws.deck / "deck.lock").unlink(missing_ok=True)
    shutil.rmtree(ws.out, ignore_errors=True)


def build_untimed(ws: Workspace) -> None:
    """Start after a build: the lock and the build folder match the deck."""
    measure(BUILD, ws.root)


def edit_one_card(ws: Workspace) -> None:
    """Start after a build, then change one card's back in the first section."""
    build_untimed(ws)
    section = min(ws.deck.glob("[0-9]*.yaml"))
    text = section.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^(    back: ).*$", rf"\g<1>Edited {next(_EDITS)} times", text, count=1)
    section.write_text(edited, encoding="utf-8")


def fresh_collection(path: Path) -> None:
    """Start with an empty Anki profile at ``path`` (made by the official library)."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    measure([sys.executable, "-c", "import sys; from anki.collection import Collection; "
             "Collection(sys.argv[1]).close()", str(path)])


def sync_jobs(ws: Workspace, plain: Job) -> list[Job]:
    """`sync` into the author's own collection, against importing genanki's package by hand
    (which adds and updates but never moves, renames or removes)."""
    collection = ws.root / "profile" / "collection.anki2"
    collection.parent.mkdir(exist_ok=True)
    sync = [DECKBUILDER, "sync", "cards", "--collection", str(collection), "--out", "build",
            "--no-backup"]
    by_hand = Job(f"genanki {ws.label} imported into an empty profile",
                  [*PLAIN_IMPORT, str(ws.root / "genanki.apkg"), str(collection)], ws.root,
                  partial(fresh_collection, collection))

    def first() -> None:
        forget_build(ws)
        fresh_collection(collection)

    def synced() -> None:
        measure(sync, ws.root)

    def one_edit() -> None:
        synced()
        edit_one_card(ws)

    return [
        by_hand,
        Job(f"sync {ws.label} into an empty profile", sync, ws.root, first, by_hand),
        Job(f"sync {ws.label}, one card edited", sync, ws.root, one_edit, by_hand),
        Job(f"sync {ws.label}, nothing to do", sync, ws.root, synced, by_hand),
    ]


def jobs_for(ws: Workspace, large: bool) -> list[Job]:
    """The genanki baseline and the deckbuilder scenarios on one generated deck."""
    notes = write_deck(ws.size, ws.deck)
    plain = Job(f"genanki {ws.label}", [*PLAIN_GENANKI, str(notes), "genanki.apkg"], ws.root)
    cold, built = partial(forget_build, ws), partial(build_untimed, ws)
    if large:
        return [plain, Job(f"build {ws.label} cold", BUILD, ws.root, cold, plain, target=1.5,
                           memory_target=1.6), *lint_jobs(ws, plain)]
    return [
        plain,
        Job(f"build {ws.label} cold", BUILD, ws.root, cold, plain, target=1.5),
        Job(f"rebuild {ws.label}, one card edited", BUILD, ws.root, partial(edit_one_card, ws),
            plain, target=0.5),
        Job(f"validate {ws.label} after a build", VALIDATE, ws.root, built, plain, target=0.2),
        Job(f"validate {ws.label} cold (no target)", VALIDATE, ws.root, cold, plain),
        *warm_jobs(ws, plain),
        *(sync_jobs(ws, plain) if SYNC else []),
    ]


def peer_jobs(ws: Workspace, jobs: list[Job], notes: list[str]) -> list[Job]:
    """The peers that install and make every note, on ``ws``'s deck against its genanki
    script (found among ``jobs``); why any other is left out goes to ``notes``."""
    plain = next(job for job in jobs if job.name == f"genanki {ws.label}")
    ready, report = peers.runs(ws.root / "peers", ws.root / "cards.json",
                               lambda line: print(line, file=sys.stderr))
    notes += report
    return [Job(run.name, run.argv, run.cwd, run.prepare, plain) for run in ready]


def peer_check(jobs: list[Job], peer_list: list[Job]) -> dict[str, object] | None:
    """The cold build of the peers' deck against the fastest peer (None without peers)."""
    if not peer_list:
        return None
    cold = next(job for job in jobs if job.baseline is peer_list[0].baseline
                and job.name.startswith("build ") and job.name.endswith(" cold"))
    return results.peer_check(cold, peer_list)


def warm_jobs(ws: Workspace, plain: Job) -> list[Job]:
    """The author's loop: a build where nothing changed, and `build --watch` from saving
    an edit to the new package."""
    watch = Job(f"build --watch {ws.label}: save -> package, median of {WATCH_EDITS} edits",
                [], ws.root, partial(build_untimed, ws), plain, target=0.5)
    watch.timed = partial(watch_saves, ws)
    return [
        Job(f"build {ws.label}, nothing changed", BUILD, ws.root, partial(build_untimed, ws),
            plain, target=0.25),
        watch,
    ]


WATCH_EDITS = 5


def watch_saves(ws: Workspace) -> Sample:
    """Start `build --watch`, then save one card's edit at a time and time each until the
    package is replaced (a new file renamed into place); the median, and the watcher's
    peak memory."""
    package = ws.out / "benchmark.apkg"
    times = []
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([*BUILD, "--watch", "-q"], cwd=ws.root,
                                 stdout=subprocess.DEVNULL, stderr=errors)
        try:
            _wait_for(lambda: b"watching" in _stderr(errors), child, errors)
            time.sleep(0.3)  # the watcher is set up just after it says so
            for _ in range(WATCH_EDITS):
                before = os.stat(package).st_ino
                start = time.perf_counter()
                edit_saved(ws)
                _wait_for(lambda old=before: _inode(package) not in (old, None), child, errors)
                times.append(time.perf_counter() - start)
                time.sleep(0.2)  # the build's last writes finish before the next save
        finally:
            child.send_signal(signal.SIGINT)
            _, _, usage = os.wait4(child.pid, 0)
            child.returncode = 0
    return Sample(statistics.median(times), usage.ru_maxrss / 1024)


def edit_saved(ws: Workspace) -> None:
    """One card's back edited in the first section, saved as editors do (a new file
    renamed over the old one)."""
    section = min(ws.deck.glob("[0-9]*.yaml"))
    text = section.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^(    back: ).*$", rf"\g<1>Edited {next(_EDITS)} times", text, count=1)
    temporary = section.with_name(f".{section.name}.swp")
    temporary.write_text(edited, encoding="utf-8")
    os.replace(temporary, section)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _stderr(handle: Any) -> bytes:
    handle.seek(0)
    return bytes(handle.read())


def _wait_for(done: Callable[[], bool], child: subprocess.Popen[bytes], errors: Any,
              seconds: float = 60) -> None:
    deadline = time.perf_counter() + seconds
    while not done():
        if child.poll() is not None or time.perf_counter() > deadline:
            sys.exit(f"build --watch failed or hung:\n{_stderr(errors).decode()}")
        time.sleep(0.001)


def lint_jobs(ws: Workspace, plain: Job) -> list[Job]:
    """`lint` on a large deck after a build (sections from the cache, as an author runs it)."""
    def built() -> None:
        if not ws.out.is_dir():  # the cold build before it leaves one; a fresh deck has none
            build_untimed(ws)

    return [Job(f"lint {ws.label} after a build", [DECKBUILDER, "lint", "cards"], ws.root, built,
                plain, target=1.0)]


PREVIEW_TARGET = 2.0  # seconds from opening the page to its first card painted


def preview_figures(scratch: Path, sizes: list[int], rounds: int) -> list[str]:
    """`preview` pages in Debian's headless Chromium: seconds from navigation to the first
    card painted (median), and bytes per card, which must not grow with the deck."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return ["preview: skipped (pip install selenium; apt-get install chromium "
                "chromium-driver)"]
    driver_path = shutil.which("chromedriver")
    if not (driver_path and shutil.which("chromium")):
        return ["preview: skipped (apt-get install chromium chromium-driver)"]
    pages = []
    for size in sizes:
        ws = Workspace(size, scratch / f"preview-{size}")
        write_deck(size, ws.deck)
        measure([DECKBUILDER, "preview", "cards", "--out", "preview"], ws.root)
        pages.append((ws, ws.root / "preview" / "index.html"))
    options = webdriver.ChromeOptions()
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    rows = [("preview page", "cards", "MB", "bytes/card", "first card painted", "target",
             "result")]
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        per_card = []
        for ws, page in pages:
            seconds = []
            for _ in range(rounds):
                driver.get("about:blank")
                start = time.perf_counter()
                driver.get(page.as_uri())  # returns at the load event
                driver.execute_async_script(  # two frames later, the first screen is painted
                    "const done = arguments[0];"
                    "requestAnimationFrame(() => requestAnimationFrame(done));")
                seconds.append(time.perf_counter() - start)
                assert driver.execute_script("return !!document.querySelector('.view')")
            cards = int(driver.execute_script(
                "return JSON.parse(document.getElementById('deck-data').textContent)"
                ".cards.length"))
            size = page.stat().st_size
            per_card.append(size / cards)
            median = statistics.median(seconds)
            rows.append((f"preview {ws.label}", str(cards), f"{size / 1e6:.1f}",
                         f"{size / cards:.0f}", f"{median:.2f} s", f"< {PREVIEW_TARGET:g} s",
                         _verdict(median < PREVIEW_TARGET)))
        growth = per_card[-1] / per_card[0]
        rows.append((f"bytes per card, {pages[-1][0].label} / {pages[0][0].label}", "", "",
                     f"{growth:.2f}x", "", "<= 1.1x", _verdict(growth <= 1.1)))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in rows]


def table(jobs: list[Job]) -> list[str]:
    """One row per timed scenario, plus one for each memory target; peak memory throughout."""
    rows = [("scenario", "deckbuilder", "genanki", "ratio", "target", "result", "peak MB")]
    for job in jobs:
        base = job.baseline
        peak = f"{job.median('mib'):.0f}" + (f" / {base.median('mib'):.0f}" if base else "")
        if base is None and job.target:
            ours = job.median("seconds")
            rows.append((job.name, f"{ours:.3f} s", "-", "-", f"< {job.target:g} s",
                         _verdict(ours < job.target), peak))
        elif base is not None:
            ours, theirs = job.median("seconds"), base.median("seconds")
            target, result = "-", ""
            if job.target:
                target, result = f"<= {job.target:g}x", _verdict(ours / theirs <= job.target)
            rows.append((job.name, f"{ours:.2f} s", f"{theirs:.2f} s", f"{ours / theirs:.2f}x",
                         target, result, peak))
        if base is not None and job.memory_target:
            ours, theirs = job.median("mib"), base.median("mib")
            rows.append((f"{job.name}: peak memory", f"{ours:.0f} MB", f"{theirs:.0f} MB",
                         f"{ours / theirs:.2f}x", f"<= {job.memory_target:g}x",
                         _verdict(ours / theirs <= job.memory_target), peak))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
            for row in rows]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), {platform.system()}, "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (5)")
    parser.add_argument("--sizes", default="10000,100000",
                        help="card counts: the first for the cold build, rebuild and validate "
                             "scenarios, any further ones for the large cold build "
                             "(10000,100000)")
    parser.add_argument("--peers", action="store_true",
                        help="also time the peers (peers.py) on the first deck; installs them "
                             "into ~/.cache/deckbuilder-bench/peers the first time")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write every row (seconds, baseline, ratio, target, peak MB) "
                             "to FILE")
    parser.add_argument("--preview-sizes", default="5000,20000",
                        help="card counts for the preview page in Chromium: the first screen "
                             "of each, bytes per card of the last against the first "
                             "(5000,20000; 0 skips)")
    args = parser.parse_args()
    notes: list[str] = []
    peer_list: list[Job] = []
    sizes = [int(size) for size in args.sizes.split(",")]
    preview_sizes = [int(size) for size in args.preview_sizes.split(",") if int(size)]
    figures: list[str] = []
    print(f"machine: {machine()}")
    # As pip does when it installs a package: with PYTHONDONTWRITEBYTECODE set, an
    # editable install would compile deckbuilder's modules again on every run (25 ms).
    import deckbuilder
    compileall.compile_dir(Path(deckbuilder.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="deckbuilder-bench-") as scratch:
        jobs = [Job("deckbuilder --help", [DECKBUILDER, "--help"], target=0.1)]
        for index, size in enumerate(sizes):
            workspace = Workspace(size, Path(scratch, str(size)))
            jobs += jobs_for(workspace, large=index > 0)
            if args.peers and index == 0:
                peer_list = peer_jobs(workspace, jobs, notes)
                jobs += peer_list
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}", file=sys.stderr)
            for job in jobs if round_ % 2 == 0 else reversed(jobs):
                job.prepare()
                job.samples.append(job.sample())
        if preview_sizes:
            figures = preview_figures(Path(scratch), preview_sizes, args.rounds)
    print(f"medians of {args.rounds} rounds")
    print("\n".join(table(jobs)))
    if preview_sizes:
        print("\n".join(figures))
    found = results.rows(jobs)
    if args.peers:
        if check := peer_check(jobs, peer_list):
            found.append(check)
            print(results.check_line(check))
        print("\n".join(notes))
    if args.json:
        results.write(args.json, machine(), args.rounds, found, notes)


if __name__ == "__main__":
    main()
