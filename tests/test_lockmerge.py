"""The merge rule of two locks, card by card, as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from deckbuilder.lock import CardEntry, Lock
from deckbuilder.lockmerge import merge_locks

ENTRY = st.builds(CardEntry, guid=st.sampled_from(["g1", "g2"]), note_id=st.just(1),
                  kind=st.just("basic"), digest=st.sampled_from(["d1", "d2", "d3"]),
                  mod=st.integers(100, 104), subdeck=st.sampled_from(["D::1", "D::2"]))
CARDS = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), ENTRY)


@given(CARDS, CARDS, CARDS)
def test_merge_follows_the_rule(base: dict, ours: dict, theirs: dict) -> None:  # type: ignore[type-arg]
    merged = merge_locks(Lock("d", base), Lock("d", ours), Lock("d", theirs)).cards
    for key in base.keys() | ours.keys() | theirs.keys():
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        got = merged.get(key)
        if o == b:
            assert got == t  # only theirs changed (or nobody)
        elif t == b:
            assert got == o
        elif o is None or t is None:
            assert got == (o or t)  # removed on one side, changed on the other: kept
        else:
            assert got is not None
            assert got.mod >= max(o.mod, t.mod)
            assert got.digest in (o.digest, t.digest)
            if o.mod == t.mod and o.digest != t.digest:
                assert got.mod == o.mod + 1
        # Symmetric up to which side wins a tie of equal mods.
        other = merge_locks(Lock("d", base), Lock("d", theirs), Lock("d", ours)).cards.get(key)
        assert (got is None) == (other is None)
        if got is not None and other is not None:
            assert got.mod == other.mod


def test_merging_a_lock_with_itself_changes_nothing() -> None:
    entry = CardEntry("g", 1, "basic", "d", 100, "D::1")
    lock = Lock("d", {"a": entry})
    assert merge_locks(lock, lock, lock) == lock
    assert merge_locks(Lock(), lock, lock) == lock
