"""End to end on loopback: Anki's own sync server, a desktop, a phone, and `sync` between.

What it proves: after `deckbuilder sync` into the desktop, the server asks for a normal
sync (not a one-way one), and the phone then equals the deck, its reviews included.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run, write_deck
from test_sync import BETA, DECK, alpha, new_collection, open_col, ours, reviews

from deckbuilder.build import build_deck


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The `anki` package's sync server on a free loopback port; always stopped."""
    port = free_port()
    env = {**os.environ, "SYNC_USER1": "author:secret", "SYNC_BASE": str(tmp_path / "server"),
           "SYNC_HOST": "127.0.0.1", "SYNC_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "anki.syncserver"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sync server did not start: "
                                       f"{process.stderr.read() if process.stderr else ''!r}"
                                       ) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def full_sync(col: Any, auth: Any, upload: bool) -> None:
    col.close_for_full_sync()
    col.full_upload_or_download(auth=auth, server_usn=None, upload=upload)
    col.reopen(after_full_sync=True)


def test_the_phone_follows_through_a_normal_sync(tmp_path: Path, server: str) -> None:
    from anki.sync_pb2 import SyncCollectionResponse, SyncStatusResponse

    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK, "01-alpha.yaml": alpha(),
                                           "02-beta.yaml": BETA})
    desktop_path = tmp_path / "desktop" / "collection.anki2"
    new_collection(desktop_path)
    out = tmp_path / "out"
    assert run("sync", deck, "--collection", desktop_path, "--out", out).exit_code == 0

    desktop = open_col(desktop_path)
    desktop.decks.select(desktop.decks.id_for_name("Sync Deck"))
    for _ in range(3):
        card = desktop.sched.getCard()
        desktop.sched.answerCard(card, 4)
    auth = desktop.sync_login("author", "secret", server)
    full_sync(desktop, auth, upload=True)
    desktop.close()
    new_collection(tmp_path / "phone" / "collection.anki2")
    phone = open_col(tmp_path / "phone" / "collection.anki2")
    full_sync(phone, phone.sync_login("author", "secret", server), upload=False)
    phone.close()

    move = "  - id: b2\n    front: bee two\n    back: b\n"
    (deck / "01-alpha.yaml").write_text(alpha("First", back="uno", cloze="{{c1::x}} and y",
                                              extra=move))
    (deck / "02-beta.yaml").write_text(BETA.replace(BETA[BETA.index("  - id: b2"):
                                                         BETA.index("  - id: b4")], ""))
    result = run("sync", deck, "--collection", desktop_path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "1 moved, 1 renamed, 1 removed" in result.output

    desktop = open_col(desktop_path)
    try:
        assert desktop.sync_status(auth).required == SyncStatusResponse.NORMAL_SYNC
        done = desktop.sync_collection(auth, False)
        assert done.required in (SyncCollectionResponse.NO_CHANGES,
                                 SyncCollectionResponse.NORMAL_SYNC)
        desktop_reviews = reviews(desktop)
    finally:
        desktop.close()

    phone = open_col(tmp_path / "phone" / "collection.anki2")
    try:
        done = phone.sync_collection(phone.sync_login("author", "secret", server), False)
        assert done.required in (SyncCollectionResponse.NO_CHANGES,
                                 SyncCollectionResponse.NORMAL_SYNC)
        built = build_deck(deck, out, check=True, now=0)
        notes = ours(phone)
        assert set(notes) == {note.guid for note in built.notes}
        for note in built.notes:
            stored = notes[note.guid]
            assert tuple(stored.fields) == note.fields
            assert [c.ord for c in stored.cards()] == list(note.ords)
            assert {phone.decks.name(c.did) for c in stored.cards()} == {note.subdeck}
        assert reviews(phone) == desktop_reviews
        assert sum(r[5] for r in desktop_reviews.values()) == 3  # the three answers
    finally:
        phone.close()
