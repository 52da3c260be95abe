"""Lock mods far in the future: a located problem, never a lock that stops growing.

A card's ``mod`` must be newer after each edit (Anki imports a note only when the
package's is newer), so a mod far ahead, up to MAX_MOD (the year 9999), leaves no newer
one to take; and Anki's Check Database sets a note's mod later than its clock back to
now (measured with anki 26.9). Such a mod comes from a wrong clock or a hand edit.
"""

from __future__ import annotations

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
    """The problem of the mods of ``lock`` (read from ``text``) too far in the future, if
    any: one, at the first such line, with advice that fits how many there are."""
    now = int(time.time())
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    # (a value of more than 19 digits is no time: `build` says so; int() would refuse 4,301)
    chosen = int(epoch) if epoch.isascii() and epoch.isdigit() and len(epoch) < 20 else 0
    limit = max(now, chosen) + AHEAD
    late = {("notetype", key): (3, nt.mod) for key, nt in lock.notetypes.items()
            if nt.mod > limit}
    late |= {("card", card_id): (6, c.mod) for card_id, c in lock.cards.items()
             if c.mod > limit}
    if not late:
        return []
    # One pass over the lines (a search of the text for each took 13 s at 20,000 mods).
    first = next(((number, line) for number, line in enumerate(text.split("\n"), 1)
                  if _entry(line) in late), None)
    if first is None:
        return []  # (never: each entry was read from a line of the text)
    number, line = first
    kind, key = _entry(line)
    field_index, mod = late[kind, key]
    where = Location(shown, number, len("\t".join(line.split("\t")[:field_index])) + 2)
    if max(now, chosen) < CLOCK_FLOOR:  # the clock's problem, not the lock's
        message = (f"this computer's clock says {now} ({_day(now)}), a time before this "
                   f"version of deckbuilder was made, so {plural(len(late), 'mod')} of the "
                   f"lock, such as this {kind}'s ({mod}, {_day(mod)}), look to be in the "
                   f"future: set the clock right (or SOURCE_DATE_EPOCH to the time now) and "
                   f"run again. The lock is not at fault: leave it as it is")
    elif len(late) > 1:  # one wrong time, many lines: never advice to set each one to now
        message = (f"{len(late)} mods of the lock are in the future, such as this {kind}'s "
                   f"({mod}, {_day(mod)}; this computer's clock says {now}, {_day(now)}): "
                   f"they came in with a wrong time (a clock set wrong, a build time chosen "
                   f"ahead, a hand edit), and no later edit of those cards could get a newer "
                   f"one. Restore deck.lock from version control as it was before that time "
                   f"came in. Do not set them all to now: every learner's copy of those "
                   f"cards would be updated, their own edits overwritten")
    else:
        message = (f"{kind} '{key}' has a mod in the future ({mod}, {_day(mod)}; this "
                   f"computer's clock says {now}, {_day(now)}): no later edit of it could get "
                   f"a newer one, so learners would miss it. Restore this line from version "
                   f"control as it was before the wrong time came in (a clock set wrong, or "
                   f"a hand edit); if no version has it right, set this one mod to {now}. "
                   f"Leave the other mods as they are")
    return [Problem(where, message)]


def _entry(line: str) -> tuple[str, str]:
    """A lock line's kind and key."""
    kind, _, rest = line.partition("\t")
    return kind, rest.partition("\t")[0]


def _day(seconds: int) -> str:
    """The UTC date of a time since 1970, for any mod up to MAX_MOD on every platform."""
    import datetime  # only for a lock with such a mod: its import costs every build 1.5 ms

    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)).strftime(
        "%Y-%m-%d")
