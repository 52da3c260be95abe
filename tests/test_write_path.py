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
