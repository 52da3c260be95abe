"""The write side's shortcuts give exactly what the plain way gives."""

from __future__ import annotations

import base64
import os

import pytest

from deckbuilder.anki import _b85


@pytest.mark.parametrize("data", [bytes(8), b"\xff" * 8, b"\x00\x00\x00\x01\xff\xff\xff\xfe",
                                  *(os.urandom(8) for _ in range(2000))])
def test_guid_digits_are_base85(data: bytes) -> None:
    assert _b85(data) == base64.b85encode(data).decode()


def _unique_ids_by_the_book(wanted: list[tuple[str, int]]) -> dict[str, int]:
    taken: set[int] = set()
    ids = {}
    for key, number in sorted(wanted):
        while number in taken:
            number += 1
        taken.add(number)
        ids[key] = number
    return ids


@pytest.mark.parametrize("seed", range(200))
def test_ids_without_collisions_skip_the_sort_and_give_the_same(seed: int) -> None:
    import random

    from deckbuilder.anki import unique_ids

    rng = random.Random(seed)
    size = rng.randrange(1, 40)
    wanted = [(f"k{rng.randrange(60)}", rng.randrange(50 if seed % 2 else 10**6))
              for _ in range(size)]
    result = unique_ids(iter(wanted))
    assert result == _unique_ids_by_the_book(wanted)
    assert sorted(result.items()) == sorted(_unique_ids_by_the_book(wanted).items())
