"""`deckbuilder preview`: the page in a real headless Chromium, and its cards against Anki's."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DATA, DECK_YAML, AnkiImport, run, write_deck

from deckbuilder.anki import note_guid
from deckbuilder.load import load_deck
from deckbuilder.notetypes import CSS
from deckbuilder.preview import card_views, render_cloze, render_template

SHOTS = Path(__file__).resolve().parents[1] / "build" / "preview-shots"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def expected_views(deck_dir: Path) -> list[tuple[str, str]]:
    """(card id, Anki's card name) for every card, read from the YAML, not from deckbuilder."""
    views = []
    for path in sorted(deck_dir.glob("[0-9]*.yaml")):
        for card in yaml.safe_load(path.read_text(encoding="utf-8"))["cards"]:
            if "cloze" in card:
                numbers = sorted({int(n) for n in re.findall(r"\{\{c(\d+)::", card["cloze"])})
                views += [(card["id"], f"Cloze {n}") for n in numbers]
            else:
                sides = 2 if card.get("reverse") else 1
                views += [(card["id"], f"Card {n}") for n in range(1, sides + 1)]
    return views


def css_colours(selector: str) -> tuple[str, str]:
    """(color, background-color) that card.css gives ``selector``, as the browser reports them."""
    match = re.search(re.escape(selector) + r"\b[^{]*\{([^}]*)\}", CSS)
    assert match, selector
    block = match.group(1)
    colour = re.search(r"(?<![\w-])color:\s*#([0-9a-f]{6})", block)
    background = re.search(r"background-color:\s*#([0-9a-f]{6})", block)
    assert colour and background, block

    def rgb(hex_: str) -> str:
        return "rgb({}, {}, {})".format(*(int(hex_[i:i + 2], 16) for i in (0, 2, 4)))

    return rgb(colour.group(1)), rgb(background.group(1))


# --- the page in a browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The example deck, its preview written by the CLI, and what the CLI printed."""
    root = tmp_path_factory.mktemp("preview")
    deck = root / "cards"
    shutil.copytree(DATA / "example", deck)
    result = run("preview", deck, "--out", root / "out")
    assert result.exit_code == 0, result.output
    return deck, root / "out", result.output


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole module: Debian's, driven by its chromedriver."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")) and not os.environ.get("CI"):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                    "chromium-driver); .ci/run installs them")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="deckbuilder-chromium-")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    # Every request the page makes, file: ones included, from Chrome's network events.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, index: Path, size: str, night: bool = False) -> None:
    width, height = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": size == "phone"})
    for log in ("performance", "browser"):
        driver.get_log(log)  # forget the previous page's requests and messages
    driver.get(index.as_uri())
    assert driver.execute_script("return window.innerWidth") == width
    if night:
        driver.find_element("id", "night").click()


@pytest.mark.parametrize("night", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_page_shows_every_card(browser: Any, built: tuple[Path, Path, str], size: str,
                               night: bool) -> None:
    deck, out, _ = built
    open_page(browser, out / "index.html", size, night)

    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('.view h3'), h => h.textContent)")
    assert [tuple(text.split(" ", 1)) for text in shown] == expected_views(deck)
    assert browser.find_element("id", "shown").text == f"{len(shown)} of {len(shown)} cards"
    assert browser.execute_script("return document.querySelectorAll('.view .card').length") == (
        2 * len(shown))

    # Nothing wider than the screen, at 390 px as at 1280 px.
    scroll_width, inner_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width

    # The copied image loads from beside index.html.
    assert browser.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert browser.execute_script("return document.images.length") == 2  # question and answer

    # Anki's night mode: the classes on every card, and card.css's colours applied.
    classes = browser.execute_script(
        "return Array.from(document.querySelectorAll('.card'), c => c.className)")
    assert all(("nightMode" in c.split() and "night_mode" in c.split()) == night
               for c in classes)
    colour, background = browser.execute_script(
        "const s = getComputedStyle(document.querySelector('.card'));"
        "return [s.color, s.backgroundColor]")
    assert colour != background
    assert (colour, background) == css_colours(".nightMode.card" if night else ".card")
    cloze = browser.execute_script(
        "const s = getComputedStyle(document.querySelector('.cloze'));"
        "return [s.color, s.backgroundColor, s.fontWeight]")
    assert cloze[0] != colour and cloze[1] != background and cloze[2] == "700"

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = browser.execute_cdp_cmd("Page.captureScreenshot",
                                   {"format": "png", "captureBeyondViewport": True})
    (SHOTS / f"example-{size}-{'dark' if night else 'light'}.png").write_bytes(
        base64.b64decode(shot["data"]))


def test_tag_filter_hides_cards(browser: Any, built: tuple[Path, Path, str]) -> None:
    from selenium.webdriver.support.ui import Select

    deck, out, _ = built
    open_page(browser, out / "index.html", "desktop")
    visible = ("return Array.from(document.querySelectorAll('.view'))"
               ".filter(v => v.offsetParent !== null).map(v => v.id)")
    everything = browser.execute_script(visible)
    assert len(everything) == len(expected_views(deck))

    Select(browser.find_element("id", "tag-filter")).select_by_value("history")
    assert browser.execute_script(visible) == ["treaty--1", "treaty--2"]
    assert browser.find_element("id", "shown").text == f"2 of {len(everything)} cards"
    assert not browser.find_element("id", "section-01-basics").is_displayed()

    browser.find_element("css selector", '.chart button[data-tag="geo"]').click()
    assert browser.execute_script(visible) == [
        "capital-france--1", "map-image--1", "haus--1", "haus--2"]
    browser.find_element("css selector", '#haus--2 button[data-tag="geo"]').click()  # again: off
    assert browser.execute_script(visible) == everything


def test_no_request_leaves_the_machine(browser: Any, built: tuple[Path, Path, str]) -> None:
    _, out, _ = built
    open_page(browser, out / "index.html", "phone", night=True)
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith("file:") for name in entries), entries
    requested = [entry["message"] for entry in browser.get_log("performance")
                 if '"Network.requestWillBeSent"' in entry["message"]]
    urls = re.findall(r'"request":\{.*?"url":"([^"]*)"', "\n".join(requested))
    assert any(url.endswith(".png") for url in urls), urls  # the probe sees file: requests
    assert all(url.startswith("file:") for url in urls), urls
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]

    # The page's Content-Security-Policy refuses anything else, and the probe would see it.
    browser.execute_script("const i = new Image(); i.src = 'https://example.invalid/x.png';"
                           "document.body.append(i)")
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert "https://example.invalid/x.png" in entries
    assert any("Content Security Policy" in e["message"] for e in browser.get_log("browser"))


def written_at(deck_dir: Path) -> list[str]:
    """file:line of every card's `- id:` line, read from the YAML text, one per card shown."""
    places = []
    for path in sorted(deck_dir.glob("[0-9]*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        starts = {m.group(1): n for n, line in enumerate(lines, 1)
                  if (m := re.match(r"\s*- id: (\S+)", line))}
        places += [f"{path.name}:{starts[card_id]}" for card_id, _ in expected_views(path.parent)
                   if card_id in starts]
    return places


def test_each_card_says_where_it_is_written(browser: Any, built: tuple[Path, Path, str]) -> None:
    deck, out, _ = built
    open_page(browser, out / "index.html", "desktop")
    assert browser.execute_script(
        "return Array.from(document.querySelectorAll('.view .where'), w => w.textContent)"
    ) == written_at(deck)


def contrast(colour: str, background: str) -> float:
    """WCAG contrast ratio of two computed rgb() colours."""
    def luminance(rgb: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(colour), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(scope="module")
def nato(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own deck (a long description, ten sections), previewed."""
    out = tmp_path_factory.mktemp("nato")
    result = run("preview", Path(__file__).resolve().parents[1] / "cards", "--out", out)
    assert result.exit_code == 0, result.output
    return out / "index.html"


@pytest.mark.parametrize("night", [False, True], ids=["light", "dark"])
def test_first_card_is_on_a_phones_first_screen(browser: Any, nato: Path, night: bool) -> None:
    open_page(browser, nato, "phone", night)
    top = browser.execute_script("return document.querySelector('.view').getBoundingClientRect()"
                                 ".top")
    assert top < SIZES["phone"][1] / 2, f"the first card starts {top:.0f} px down"
    # The description and the charts are one tap away.
    browser.find_element("css selector", "#about > summary").click()
    assert browser.find_element("css selector", "#about .description").is_displayed()
    assert browser.find_element("css selector", "#about .chart").is_displayed()


@pytest.mark.parametrize("night", [False, True], ids=["light", "dark"])
def test_code_in_the_description_is_readable(browser: Any, nato: Path, night: bool) -> None:
    open_page(browser, nato, "desktop", night)
    colour, background = browser.execute_script(
        "const s = getComputedStyle(document.querySelector('#about .description code'));"
        "return [s.color, s.backgroundColor]")
    assert contrast(colour, background) >= 4.5, (colour, background)


def benchmark_decks() -> Any:
    """benchmarks/deckgen.py, which writes the benchmark's generated decks."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    return deckgen


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The benchmark's generated deck of 20,000 notes (26,062 cards), previewed."""
    deckgen = benchmark_decks()
    root = tmp_path_factory.mktemp("big")
    deckgen.write_deck(20_000, root / "cards")
    result = run("preview", root / "cards", "--out", root / "out")
    assert result.exit_code == 0, result.output
    return root / "cards", root / "out" / "index.html"


def test_a_big_deck_shows_its_first_cards_and_finds_any(browser: Any,
                                                        big: tuple[Path, Path]) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    deck, index = big
    total = len(expected_views(deck))
    open_page(browser, index, "phone")
    views = "return document.querySelectorAll('.view').length"
    drawn = browser.execute_script(views)
    assert 0 < drawn < 200, "only the first cards are drawn when the page opens"
    assert browser.find_element("css selector", ".view").is_displayed()
    assert browser.find_element("id", "shown").text == f"{total} of {total} cards"

    # Scrolling to the end of what is drawn draws more.
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(views) > drawn)

    # The search sees every card, the last one too.
    last = yaml.safe_load(sorted(deck.glob("[0-9]*.yaml"))[-1].read_text())["cards"][-1]
    browser.find_element("id", "search").send_keys(last["id"])
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element("id", "shown").text.startswith("1 of "))
    assert browser.execute_script("return Array.from(document.querySelectorAll('.view'), "
                                  "v => v.id)") == [f"{last['id']}--1"]

    # A link to the last section draws up to it.
    browser.find_element("id", "search").clear()
    browser.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element("id", "shown").text == f"{total} of {total} cards")
    stem = sorted(deck.glob("[0-9]*.yaml"))[-1].stem
    browser.execute_script(f"location.hash = 'section-{stem}'")
    WebDriverWait(browser, 10).until(lambda b: b.find_element("id", f"section-{stem}")
                                     .is_displayed())
    assert browser.execute_script(
        f"return document.getElementById('section-{stem}').getBoundingClientRect().top") < 10


def test_the_page_grows_linearly(big: tuple[Path, Path], tmp_path: Path) -> None:
    """Bytes per card stay the same from a deck of 5,000 notes to one of 20,000."""
    deckgen = benchmark_decks()
    deckgen.write_deck(5_000, tmp_path / "cards")
    assert run("preview", tmp_path / "cards", "--out", tmp_path / "out").exit_code == 0
    small = ((tmp_path / "out" / "index.html").stat().st_size
             / len(expected_views(tmp_path / "cards")))
    large = big[1].stat().st_size / len(expected_views(big[0]))
    assert 0.9 < large / small < 1.1, (small, large)
    assert large < 600, f"{large:.0f} bytes per card"  # 1,100 when every card was HTML


# --- the command ------------------------------------------------------------------------------


def test_preview_prints_what_it_wrote(built: tuple[Path, Path, str]) -> None:
    deck, out, output = built
    size = (out / "index.html").stat().st_size / 1024
    assert output.splitlines()[0] == (f"wrote {out / 'index.html'} ({size:.0f} KiB): 2 sections, "
                                      "6 notes, 8 cards, 1 media file copied")
    assert output.splitlines()[1] == f"open {(out / 'index.html').resolve().as_uri()}"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert CSS in page
    # The cards travel as JSON: what the script draws is the page's HTML plus theirs.
    cards = json.loads(re.search(r'<script type="application/json" id="deck-data">(.*?)</script>',
                                 page, re.DOTALL).group(1))["cards"]
    shown = page + "".join(card[6] + card[7] for card in cards)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", shown)
    image = re.search(r'src="(outline-[0-9a-f]{10}\.png)"', shown)
    assert image, "the page shows the example's image by its flat name"
    assert (out / image.group(1)).read_bytes() == (deck / "media" / "outline.png").read_bytes()


def test_invalid_deck_exits_1_with_located_problems(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": DECK_YAML,
        "01-a.yaml": """
            section: A
            cards:
              - id: Bad Id
                front: q
                back: a
            """,
    })
    result = run("preview", deck, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert re.search(rf"^{re.escape(str(deck / '01-a.yaml'))}:3:\d+: .*id", result.output,
                     re.MULTILINE), result.output
    assert "1 error in 1 file" in result.output
    assert not (tmp_path / "out").exists()


# --- the renderer -----------------------------------------------------------------------------


def test_template_sections_and_front_side() -> None:
    template = "{{#Extra}}<i>{{Extra}}</i>{{/Extra}}|{{^Extra}}none{{/Extra}}"
    assert render_template(template, {"Extra": "x"}) == "<i>x</i>|"
    assert render_template(template, {"Extra": " <br> <div></div>"}) == "|none"
    assert render_template("{{FrontSide}}<hr>{{Back}}", {"Back": "b"}, front_side="q") == "q<hr>b"
    # A field's text is inserted, never read as template syntax.
    assert render_template("{{Front}}", {"Front": "{{Back}}", "Back": "b"}) == "{{Back}}"
    with pytest.raises(ValueError, match="unknown field 'Nope'"):
        render_template("{{Nope}}", {})
    with pytest.raises(ValueError, match="open"):
        render_template("{{#Extra}}", {"Extra": ""})


def test_cloze_question_and_answer() -> None:
    text = "{{c1::Paris}} is on the {{c2::Seine::river}}; {{c1::France}}."
    assert render_cloze(text, 1, answer=False) == (
        '<span class="cloze">[...]</span> is on the <span class="cloze-inactive">Seine</span>; '
        '<span class="cloze">[...]</span>.')
    assert render_cloze(text, 2, answer=False) == (
        '<span class="cloze-inactive">Paris</span> is on the <span class="cloze">[river]</span>; '
        '<span class="cloze-inactive">France</span>.')
    assert render_cloze(text, 2, answer=True) == (
        '<span class="cloze-inactive">Paris</span> is on the <span class="cloze">Seine</span>; '
        '<span class="cloze-inactive">France</span>.')
    # An empty hint shows as Anki shows it (measured with anki 26.9: "[]").
    assert render_cloze("{{c1::a::}}", 1, answer=False) == '<span class="cloze">[]</span>'


def test_cards_match_what_anki_renders(tmp_path: Path, anki: AnkiImport) -> None:
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": DECK_YAML,
        "01-mixed.yaml": """
            section: Mixed
            source: A *book*
            cards:
              - id: plain
                front: What is **x**?
                back: "`x`"
                extra: An extra line.
              - id: both-ways
                front: term
                back: definition
                reverse: true
              - id: gaps
                cloze: "{{c1::Paris}} is on the {{c2::*Seine*::river}}; {{c1::France}} too."
                extra: Two deletions share c1.
            """,
        "02-bare.yaml": """
            section: Bare
            cards:
              - id: bare
                cloze: "A {{c1::b}} c"
              - id: plain-bare
                front: f
                back: b
            """,
    })
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki.load(tmp_path / "out" / "test-deck.apkg")
    views = {(note_guid("test-deck", view.card_id), view.ord): view
             for _, section in card_views(load_deck(deck)) for view in section}
    col = anki.col
    cards = [col.get_card(card_id) for card_id in col.find_cards("")]
    assert len(cards) == len(views) == 7

    def shown(side: str) -> str:  # Anki's HTML without its <style> and data- attributes
        return re.sub(r' data-[\w-]+="[^"]*"', "", side.split("</style>", 1)[-1])

    for card in cards:
        view = views[(card.note().guid, card.ord)]
        assert view.question == shown(card.question()), view.card_id
        assert view.answer == shown(card.answer()), view.card_id


def test_a_sound_is_a_player_of_the_copied_file(browser: Any, tmp_path: Path) -> None:
    """[sound:] is shown as the learner hears it in Anki: a player, whose file the browser
    loads from beside the page (a tenth of a second of silence, as a WAV file)."""
    import wave

    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": (
        "section: Sounds\ncards:\n  - id: hello\n    front: 'Say it: [sound:media/hello.wav]'\n"
        "    back: Hello\n")})
    (deck / "media").mkdir()
    with wave.open(str(deck / "media" / "hello.wav"), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    assert run("preview", deck, "--out", tmp_path / "out").exit_code == 0
    open_page(browser, tmp_path / "out" / "index.html", "desktop")
    players = browser.execute_script(
        "return Array.from(document.querySelectorAll('.view audio'), a => a.getAttribute('src'))")
    assert len(players) == 2  # the question, and the answer that repeats it
    assert all((tmp_path / "out" / name).is_file() for name in players)
    assert "[sound:" not in browser.find_element("tag name", "body").text
    duration = browser.execute_async_script(
        "const done = arguments[0], a = document.querySelector('.view audio');"
        "if (a.readyState >= 1) done(a.duration); else a.onloadedmetadata = () => done(a.duration);"
        "a.onerror = () => done(-1); a.load();")
    assert 0.05 < duration < 0.2
