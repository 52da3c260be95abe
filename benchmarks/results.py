"""What a benchmark run measured, as data: every row for ``bench.py --json FILE`` (from
which the README's table can be made), and the check of the cold build against the peers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol


class Timed(Protocol):
    """bench.py's Job, as far as these rows need it."""

    name: str
    target: float
    memory_target: float | None

    @property
    def baseline(self) -> Timed | None: ...

    def median(self, what: str) -> float: ...


def rows(jobs: Sequence[Timed]) -> list[dict[str, Any]]:
    """One row per job (seconds and peak MB against its baseline, target and result, as in
    the printed table), plus one per memory target."""
    found = []
    for job in jobs:
        base = job.baseline
        row = _row(job.name, job.median("seconds"),
                   None if base is None else base.median("seconds"), job.median("mib"),
                   None if base is None else base.median("mib"))
        if base is None and job.target:
            row.update(target=f"< {job.target:g} s", result=_verdict(row["seconds"] < job.target))
        elif base is not None and job.target:
            row.update(target=f"<= {job.target:g}x", result=_verdict(row["ratio"] <= job.target))
        found.append(row)
        if base is not None and job.memory_target:
            ratio = job.median("mib") / base.median("mib")
            found.append({"scenario": f"{job.name}: peak memory", "seconds": None,
                          "baseline_seconds": None, "ratio": round(ratio, 3),
                          "target": f"<= {job.memory_target:g}x",
                          "result": _verdict(ratio <= job.memory_target),
                          "peak_mb": row["peak_mb"], "baseline_peak_mb": row["baseline_peak_mb"]})
    return found


def peer_check(cold: Timed, peers: Sequence[Timed]) -> dict[str, Any] | None:
    """The cold build against the fastest peer: a row whose ratio must stay under 1."""
    if not peers:
        return None
    fastest = min(peers, key=lambda peer: peer.median("seconds"))
    row = _row(f"{cold.name}: faster than every peer (fastest: {fastest.name})",
               cold.median("seconds"), fastest.median("seconds"), cold.median("mib"),
               fastest.median("mib"))
    row.update(target="< 1x", result=_verdict(row["ratio"] < 1))
    return row


def check_line(row: dict[str, Any]) -> str:
    return (f"{row['scenario']}: {row['seconds']:.2f} s against {row['baseline_seconds']:.2f} s, "
            f"{row['ratio']:.2f}x, target {row['target']}: {row['result']}")


def write(path: Path, machine: str, rounds: int, found: list[dict[str, Any]],
          notes: list[str]) -> None:
    path.write_text(json.dumps({"machine": machine, "rounds": rounds, "rows": found,
                                "peers": notes}, indent=2) + "\n", encoding="utf-8")


def _row(name: str, seconds: float, base_seconds: float | None, mib: float,
         base_mib: float | None) -> dict[str, Any]:
    return {"scenario": name, "seconds": round(seconds, 4),
            "baseline_seconds": None if base_seconds is None else round(base_seconds, 4),
            "ratio": None if base_seconds is None else round(seconds / base_seconds, 3),
            "target": None, "result": None, "peak_mb": round(mib, 1),
            "baseline_peak_mb": None if base_mib is None else round(base_mib, 1)}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
