"""Lock mods far in the future: a located problem, never a lock that stops growing.

A card's ``mod`` must be newer after each edit (Anki imports a note only when the
package's is newer), so a mod far ahead, up to MAX_MOD (the year 9999), leaves no newer
one to take; and Anki's Check Database sets a note's mod later than its clock back to
now (measured with anki 26.9). Such a mod comes from a wrong clock or a hand edit.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import TYPE_CHECKING

from .errors import Location, Problem, plural

if TYPE_CHECKING:
    from .lock import Lock

# A day ahead is allowed, as Anki allows ids: two authors' clocks may differ; so is a
# build time chosen ahead (SOURCE_DATE_EPOCH), whose mods it wrote.
AHEAD = 86_400
# A clock before this (2026-11-01, before this check was written) is wrong, not the lock:
# a board without a real-time clock starts in 1970. Its builds still give newer mods.
CLOCK_FLOOR = 1_793_491_200


def ahead(lock: Lock, text: str, shown: str) -> list[Problem]:
    """A problem at each mod of ``lock`` (read from ``text``) too far in the future."""
    now = int(time.time())
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    # (a value of more than 19 digits is no time: `build` says so; int() would refuse 4,301)
    chosen = int(epoch) if epoch.isascii() and epoch.isdigit() and len(epoch) < 20 else 0
    limit = max(now, chosen) + AHEAD
    late = [("notetype", key, 3, nt.mod) for key, nt in lock.notetypes.items()
            if nt.mod > limit]
    late += [("card", card_id, 6, c.mod) for card_id, c in lock.cards.items() if c.mod > limit]
    problems = []
    for kind, key, field_index, mod in sorted(late):
        start = text.find(f"\n{kind}\t{key}\t") + 1
        if not start and not text.startswith(f"{kind}\t{key}\t"):
            continue  # (never: each entry was read from a line of the text)
        line = text[start:text.find("\n", start) if "\n" in text[start:] else len(text)]
        column = len("\t".join(line.split("\t")[:field_index])) + 2
        where = Location(shown, text.count("\n", 0, start) + 1, column)
        if max(now, chosen) < CLOCK_FLOOR:  # one problem: the clock's, not each line's
            return [Problem(where, (
                f"this computer's clock says {now} ({_day(now)}), a time before this "
                f"version of deckbuilder was made, so {plural(len(late), 'mod')} of the "
                f"lock, such as this {kind}'s ({mod}, {_day(mod)}), look to be in the "
                f"future: set the clock right (or SOURCE_DATE_EPOCH to the time now) and "
                f"run again. The lock is not at fault: leave it as it is"))]
        problems.append(Problem(where, (
            f"{kind} '{key}' has a mod in the future ({mod}, {_day(mod)}; this computer's "
            f"clock says {now}, {_day(now)}): no later edit of "
            f"it could get a newer one, so learners would miss it. Restore this line from "
            f"version control as it was before the wrong time came in (a clock set wrong, "
            f"or a hand edit); if no version has it right, set this one mod to {now}. "
            f"Leave the other mods as they are")))
    return problems


def _day(seconds: int) -> str:
    """The UTC date of a time since 1970, for any mod up to MAX_MOD on every platform."""
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)).strftime(
        "%Y-%m-%d")
