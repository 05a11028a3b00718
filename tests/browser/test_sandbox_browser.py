"""The sandbox page in a real browser: a whole submission played by clicking.

Headless Chromium from Debian's ``chromium`` package, driven by Playwright (never
``playwright install``), with axe-core's accessibility rules (``axe-playwright-python``)
checked on the page's busiest states, and its layout measured at the common screen sizes.
Without a browser the tests are skipped with the
reason, unless ``SELFIE_BOT_REQUIRE_BROWSER=1`` (CI), where they fail. Leaves a screenshot in
``test-artifacts/sandbox.png``; with ``SELFIE_BOT_UPDATE_DOCS=1`` also ``docs/sandbox.png``.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.campaign.links import slugify
from tests.support.sandbox import ROOT, SandboxProcess

ARTIFACTS = ROOT / "test-artifacts"
DOCS_SCREENSHOT = ROOT / "docs" / "sandbox.png"
#: The demo campaign's offers_url, before its {trade_slug}.
OFFERS = "https://www.example.org/offres-apprentissage?metier="


#: The most common laptop screen.
DESKTOP = {"width": 1280, "height": 720}
#: Where the four panes must sit side by side, the page itself never scrolling.
SCREENS = [DESKTOP, {"width": 1366, "height": 768}, {"width": 1920, "height": 1080}]
#: A phone: no hover, taps; one pane at a time, in tabs.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


def open_page(browser: Any, **context: Any) -> Any:
    """A page in a context of its own (viewport, timezone, touch…), desktop-sized by default."""
    page = browser.new_context(**{"viewport": DESKTOP, **context}).new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.fixture
def browser_page(browser: Any) -> Any:
    return open_page(browser)


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One sandbox for the tests that only read the page or talk in Léa's chat."""
    process = SandboxProcess(tmp_path_factory.mktemp("sandbox"), "sandbox", "--port", "0")
    try:
        yield process.wait_ready()
    finally:
        process.stop()
    assert not [line for line in process.lines if "Traceback" in line], process.log


def assert_accessible(page: Any) -> None:
    """axe-core's rules (WCAG 2 A and AA, best practices) on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


#: Boxes of the header, the status pill and the panes; what the document and the page scroll.
LAYOUT = """() => {
  const box = (node) => {
    const { left, top, right, bottom, width, height } = node.getBoundingClientRect();
    return { left, top, right, bottom, width, height };
  };
  const status = document.querySelector("#status");
  return {
    document: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
    scrolled: [scrollX, scrollY],
    header: box(document.querySelector("header")),
    status: { ...box(status), line: parseFloat(getComputedStyle(status).lineHeight) },
    panes: [...document.querySelectorAll(".pane")].map((pane) => ({
      id: pane.id, shown: pane.checkVisibility({ visibilityProperty: true }), ...box(pane),
    })),
  };
}"""

#: The reply controls shown, and those out of their bubble or over its text, quote, photo…
CHIPS = """() => {
  const meet = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const within = (a, b) =>
    a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom;
  const chips = [...document.querySelectorAll(".reply-btn")]
    .filter((chip) => chip.checkVisibility({ visibilityProperty: true }));
  const misplaced = (chip) => {
    const bubble = chip.closest(".msg");
    const box = chip.getBoundingClientRect();
    const parts = bubble.querySelectorAll(".sender, .quote, img, .doc, .text, .keyboard, .meta");
    return !within(box, bubble.getBoundingClientRect())
      || [...parts].some((part) => meet(box, part.getBoundingClientRect()));
  };
  return {
    shown: chips.length,
    misplaced: chips.filter(misplaced).map((chip) => chip.closest(".msg").dataset.messageId),
  };
}"""


def layout(page: Any) -> dict[str, Any]:
    """The page's boxes, once its fonts are there (they size the header)."""
    page.evaluate("document.fonts.ready")
    return page.evaluate(LAYOUT)


def assert_one_line(box: dict[str, Any]) -> None:
    assert box["height"] < 2 * box["line"], box


def assert_chips_beside_the_text(page: Any) -> None:
    chips = page.evaluate(CHIPS)
    assert chips["shown"] and chips["misplaced"] == [], chips


def undistorted(image: dict[str, Any]) -> bool:
    """The box keeps the picture's own ratio, to within a pixel."""
    (natural_w, natural_h), (shown_w, shown_h) = image["natural"], image["shown"]
    return abs(shown_h - shown_w * natural_h / natural_w) <= 1


SHOWN_IMAGES = """() => [...document.querySelectorAll("img")]
  .filter((img) => img.complete && img.naturalWidth > 0 && img.getClientRects().length > 0)
  .map((img) => {
    const box = img.getBoundingClientRect();
    return {
      where: `${img.closest("[data-chat]")?.dataset.chat} ${img.className} ${img.src}`,
      natural: [img.naturalWidth, img.naturalHeight],
      shown: [box.width, box.height],
      fit: getComputedStyle(img).objectFit,
    };
  })"""


def test_a_whole_submission_by_clicking(browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    process = SandboxProcess(tmp_path, "sandbox", "--port", "0")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        url = process.wait_ready()
        page.goto(url + "/")
        expect(page.locator("#status")).to_have_class("status ready")
        phone, group = page.locator("#messages-private"), page.locator("#messages-group")
        channel = page.locator("#messages-channel")

        def click(where: Any, data: str) -> None:
            where.locator(f'button[data-callback^="{data}"]').last.click()

        # The apprentice: /start from the command menu, then the buttons.
        page.click('.composer .menu[data-chat="private"]')
        page.locator("#menu-private button", has_text="/start").click()
        click(phone, "consent:yes")
        click(phone, "age:adult")
        click(phone, "name:first")
        click(phone, "trade:0:0")
        click(phone, "centre:0")
        click(phone, "quote:skip")
        expect(phone.locator(".msg").last).to_contain_text("📸")
        # A landscape photo (stored sideways, EXIF 8), then a portrait one (EXIF 6) instead.
        page.click('.clip[data-chat="private"]')
        page.click('.sample[data-sample="electricienne"]')
        expect(phone.locator("img.photo")).to_have_count(2)  # the photo and its preview
        page.click('.clip[data-chat="private"]')
        page.click('.sample[data-sample="mecanicien"]')
        expect(phone.locator("img.photo")).to_have_count(4)
        click(phone, "preview:send")

        # The moderators: Camille approves the card.
        expect(page.locator("#moderator")).to_contain_text("Camille")
        card = group.locator(".msg", has=page.locator('button[data-callback^="mod:ok:"]'))
        expect(card.last).to_contain_text("Léa")
        click(group, "mod:ok:")
        expect(group.locator(".msg").last).to_contain_text("Camille")
        expect(phone.locator(".msg").last).to_contain_text("Bonne nouvelle")

        # The header's live wall, open in a tab of its own: nothing published yet.
        with page.context.expect_page() as opened:
            page.click(".wall-link")
        wall = opened.value
        expect(wall.locator("#wall")).to_have_attribute("data-state", "empty")

        # The next slot, now: the post appears in the channel with its link button.
        page.click("#slot")
        post = channel.locator(".msg.post")
        expect(post).to_have_count(1)
        expect(post.locator("img.photo")).to_be_visible()
        expect(post).to_contain_text("Léa")
        offers, interest = post.locator(".keyboard a").all()
        expect(offers).to_have_attribute(  # the offers for her trade
            "href", OFFERS + slugify("Maçon·ne")
        )
        expect(interest).to_have_attribute("href", re.compile(r"^https://t\.me/\w+\?start=post-1$"))
        expect(phone.locator(".msg").last).to_contain_text("t.me/fiersdetreapprentis/1")
        # The wall shows her selfie at its next read (every 10 s), without a reload.
        expect(wall.locator("#wall .name")).to_have_text("Léa", timeout=30_000)
        wall.close()

        # A follower taps « Ce métier m'intéresse »: the bot's chat opens on the trade.
        interest.click()
        about = phone.locator(".msg").last
        expect(about).to_contain_text("Maçon·ne · Bâtiment")
        expect(about.locator(".keyboard a")).to_have_attribute("href", OFFERS + slugify("Maçon·ne"))
        # The moderators' /stats counts that visit, then sends its chart.
        page.fill("#text-group", "/stats")
        page.press("#text-group", "Enter")
        expect(group.locator(".msg", has_text="Statistiques").last).to_contain_text(
            "Maçon·ne : 1 / 1 / 1"
        )
        expect(group.locator(".msg").last.locator("img.photo")).to_be_visible()  # the chart
        page.wait_for_function("[...document.querySelectorAll('img.photo')].every(i => i.complete)")
        # The whole tour on a laptop screen, and the page itself never scrolled.
        boxes = layout(page)
        assert boxes["scrolled"] == [0, 0]
        assert boxes["document"] == [DESKTOP["width"], DESKTOP["height"]], boxes

        # Every photo keeps its ratio: the apprentice's, the previews, the card, the post.
        images = page.evaluate(SHOWN_IMAGES)
        photos = [i for i in images if " photo " in i["where"]]
        assert {i["where"].split()[0] for i in photos} == {"private", "group", "channel"}
        assert any(w > h for w, h in (i["natural"] for i in photos)), photos  # landscape
        assert any(w < h for w, h in (i["natural"] for i in photos)), photos  # portrait
        assert [i for i in photos if not undistorted(i)] == []
        # Thumbnails may crop to a square (object-fit), never stretch.
        stretched = [i for i in images if not undistorted(i) and i["fit"] == "fill"]
        assert stretched == []
        expect(page.locator("#toast")).to_be_hidden()  # « Publié », over the chats
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "sandbox.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000
        if os.environ.get("SELFIE_BOT_UPDATE_DOCS") == "1":
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            image = Image.open(shot).convert("RGB")
            image.quantize(colors=128, dither=Image.Dither.NONE).save(
                DOCS_SCREENSHOT, optimize=True
            )
        # Every kind of message on the page, the attachment panel and the command menu open.
        page.click('.clip[data-chat="private"]')
        page.click('.composer .menu[data-chat="group"]')
        assert_accessible(page)
        assert errors == []
    finally:
        process.stop()
    assert not [line for line in process.lines if "Traceback" in line], process.log


def test_on_a_phone_second_persona_file_upload_and_a_refusal_reason_typed_as_a_reply(
    browser: Any, tmp_path: Path
) -> None:
    """On a touch screen, one pane at a time: the moderators' tab says a card came, and the
    card's reply control is there to tap, beside its text."""
    from playwright.sync_api import expect

    page = open_page(browser, **PHONE)
    process = SandboxProcess(tmp_path, "sandbox", "--port", "0")
    try:
        url = process.wait_ready()
        page.goto(url + "/")
        expect(page.locator("#status")).to_have_class("status ready")
        phone, group = page.locator("#messages-private"), page.locator("#messages-group")

        def click(where: Any, data: str) -> None:
            where.locator(f'button[data-callback^="{data}"]').last.click()

        # A new apprentice, in English; Léa's chat is not shown any more.
        page.click("#add-persona")
        page.fill("#persona-name", "Ed")
        page.select_option("#persona-lang", "en")
        page.click("#persona-form button[type=submit]")
        expect(page.locator("#persona")).to_have_value(
            page.locator("#persona option", has_text="Ed").get_attribute("value") or ""
        )
        page.fill("#text-private", "/start")
        page.press("#text-private", "Enter")
        for data in ("consent:yes", "age:adult", "name:first", "trade:0:1", "centre:1"):
            click(phone, data)
        click(phone, "quote:skip")
        # A photo from the computer, sent as a photo.
        page.set_input_files("#file-private", str(tmp_path / "sandbox-data/samples/coiffeuse.jpg"))
        click(phone, "preview:send")
        expect(phone.locator(".msg").last).to_contain_text("sent")
        expect(page.locator("#tab-group")).to_have_class(re.compile(r"\bfresh\b"))
        page.tap("#tab-group")
        expect(page.locator("#tab-group")).not_to_have_class(re.compile(r"\bfresh\b"))
        expect(page.locator("#pane-group")).to_be_visible()
        expect(page.locator("#pane-apprentice")).to_be_hidden()

        # Sam refuses with a reason of their own: "other", then a reply to the card.
        page.select_option("#moderator", label="Sam (modo)")
        card = group.locator(".msg", has=page.locator('button[data-callback^="mod:no:"]')).last
        expect(card).to_contain_text("Ed")
        click(group, "mod:no:")
        click(group, "mod:other:")
        expect(page.locator("#alert")).to_be_visible()
        # The hint names the control the page (and Telegram's menu) offers: ↩ Répondre.
        reply = group.locator(".msg", has=page.locator("img.photo")).last.locator(".reply-btn")
        expect(reply).to_contain_text("↩ Répondre")
        expect(page.locator("#alert-text")).to_contain_text("↩ Répondre")
        assert_accessible(page)  # a phone, the alert open
        page.tap("#alert-ok")
        expect(reply).to_have_css("opacity", "1")
        reply.tap()
        expect(page.locator("#replying-group")).to_be_visible()
        page.fill("#text-group", "Logo d'entreprise visible")
        page.press("#text-group", "Enter")
        expect(phone.locator(".msg").last).to_contain_text("Logo d'entreprise visible")
        expect(group.locator(".msg", has=page.locator("img.photo")).last).to_contain_text("Sam")
        page.wait_for_function("[...document.querySelectorAll('img.photo')].every(i => i.complete)")
        assert_chips_beside_the_text(page)
        page.tap("#tab-apprentice")
        expect(phone.locator(".msg").last).to_be_in_viewport()
    finally:
        process.stop()
    assert not [line for line in process.lines if "Traceback" in line], process.log


def test_the_page_loads_with_its_icon_and_no_error_response(
    browser_page: Any, sandbox_url: str
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else 0)
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    page.click('.clip[data-chat="private"]')  # the sample thumbnails load
    page.wait_for_function(
        "[...document.querySelectorAll('.sample img')].every(i => i.complete && i.naturalWidth)"
    )
    # Headless Chromium fetches no icon itself: fetch the one a browser tab would.
    icon = page.evaluate(
        "new URL(document.querySelector('link[rel~=icon]')?.getAttribute('href')"
        " || '/favicon.ico', location.href).href"
    )
    response = page.request.get(icon)
    assert response.status == 200, icon
    assert response.headers["content-type"].startswith("image/")
    with Image.open(io.BytesIO(response.body())) as picture:
        assert min(picture.size) >= 16
    assert refused == []


#: Colour pixels of an emoji drawn in the page's font (a missing glyph is a black box).
EMOJI_COLOUR = """(emoji) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const context = canvas.getContext("2d");
  context.font = `40px ${getComputedStyle(document.body).fontFamily}`;
  context.textBaseline = "top";
  context.fillStyle = "#000";
  context.fillText(emoji, 2, 2);
  const data = context.getImageData(0, 0, 48, 48).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = data.slice(i, i + 4);
    if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured += 1;
  }
  return coloured;
}"""


def test_emoji_are_drawn_not_boxes(browser_page: Any, sandbox_url: str) -> None:
    """The bot's texts are full of emoji: without a colour emoji font each is a box."""
    page = browser_page
    page.goto(sandbox_url + "/")
    for emoji in ("📸", "📱", "👍"):
        assert page.evaluate(EMOJI_COLOUR, emoji) > 100, emoji


def test_times_are_in_the_campaign_timezone_whatever_the_browser(
    browser: Any, sandbox_url: str
) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, timezone_id="Pacific/Kiritimati")  # UTC+14, Paris is +1 or +2
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    page.fill("#text-private", "/aide")
    page.press("#text-private", "Enter")
    expect(page.locator("#messages-private .msg:not(.mine)")).not_to_have_count(0)

    view = page.request.get(sandbox_url + "/sandbox/api/view").json()
    zone = ZoneInfo(view["timezone"])
    assert view["timezone"] == "Europe/Paris"  # the demo campaign's schedule.timezone
    messages = [(chat, m) for chat, ms in view["chats"].items() for m in ms]
    assert messages
    for chat, message in messages:
        moment = datetime.fromtimestamp(message["date"], zone)
        meta = page.locator(
            f'#messages-{chat} .msg[data-message-id="{message["message_id"]}"] .meta'
        )
        expect(meta).to_have_text(moment.strftime("%H:%M"))
        expect(meta).to_have_attribute("title", moment.strftime("%d/%m/%Y %H:%M (Europe/Paris)"))


def test_replying_with_the_keyboard_alone(browser_page: Any, sandbox_url: str) -> None:
    """A reply means something in the moderators' group only, to the bot's messages (to a
    card, it is a refusal reason): the control is there, and only there."""
    from playwright.sync_api import expect

    page = browser_page
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    group = page.locator("#messages-group")
    page.fill("#text-private", "Bonjour")
    page.press("#text-private", "Enter")
    page.fill("#text-group", "/queue")
    page.press("#text-group", "Enter")
    answer = group.locator(".msg:not(.mine)", has=page.locator(".reply-btn")).last
    expect(answer).to_be_visible()
    expect(page.locator("#messages-private .msg.mine", has_text="Bonjour")).to_be_visible()
    expect(
        page.locator("#messages-private .reply-btn, #messages-channel .reply-btn")
    ).to_have_count(0)
    expect(group.locator(".msg.mine .reply-btn")).to_have_count(0)
    assert_chips_beside_the_text(page)
    target = answer.get_attribute("data-message-id")

    # From the member picker, Tab through the chat to that message's reply control.
    page.focus("#moderator")
    wanted = f'.msg[data-message-id="{target}"] .reply-btn'
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches('#messages-group {wanted}')"):
            break
    else:
        pytest.fail("no reply control reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#replying-group")).to_contain_text(f"#{target}")
    expect(page.locator("#text-group")).to_be_focused()
    page.keyboard.type("Merci !")
    page.keyboard.press("Enter")
    expect(group.locator(".msg.mine").last.locator(".quote")).to_be_visible()
    chat = page.request.get(sandbox_url + "/sandbox/api/view").json()["chats"]["group"]
    sent = [m for m in chat if m.get("text") == "Merci !"]
    assert sent[-1]["reply_to_message"]["message_id"] == int(target or 0)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s['width']}x{s['height']}")
def test_on_a_laptop_or_wider_the_four_panes_side_by_side_on_one_screen(
    browser: Any, sandbox_url: str, screen: dict[str, int]
) -> None:
    """Header on one line, the four panes next to each other within the screen, the page
    itself no taller than it: each chat scrolls its own messages (the phone's, longer than
    its pane, with the attachment panel open)."""
    from playwright.sync_api import expect

    page = open_page(browser, viewport=screen)
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    page.click('.clip[data-chat="private"]')
    messages = page.locator("#messages-private")
    answers = messages.locator(".msg:not(.mine)")
    for _ in range(8):
        if messages.evaluate("(box) => box.scrollHeight > box.clientHeight"):
            break
        count = answers.count()
        page.fill("#text-private", "/aide")
        page.press("#text-private", "Enter")
        expect(answers).not_to_have_count(count)
    else:
        pytest.fail("the phone's chat never got longer than its pane")
    expect(page.get_by_role("tablist")).to_be_hidden()
    expect(page.get_by_role("tabpanel")).to_have_count(0)

    boxes = layout(page)
    width, height = screen["width"], screen["height"]
    assert boxes["document"] == [width, height], boxes
    assert boxes["header"]["height"] <= 64, boxes["header"]
    assert_one_line(boxes["status"])
    panes = sorted(boxes["panes"], key=lambda pane: pane["left"])
    assert [pane["id"] for pane in panes] == [
        "pane-apprentice",
        "pane-group",
        "pane-channel",
        "pane-site",
    ]
    for pane, after in itertools.pairwise(panes):
        assert pane["right"] <= after["left"], (pane, after)
    for pane in panes:
        assert pane["shown"], pane
        assert pane["width"] >= 280, pane  # a phone's width, at least
        assert boxes["header"]["bottom"] <= pane["top"] and pane["bottom"] <= height, pane
        assert 0 <= pane["left"] and pane["right"] <= width, pane
        assert (
            abs(pane["top"] - panes[0]["top"]) <= 1
            and abs(pane["bottom"] - panes[0]["bottom"]) <= 1
        )


def test_on_a_phone_one_pane_at_a_time_in_tabs(browser: Any, sandbox_url: str) -> None:
    """A small header with its status on one line, then tabs (by tap or arrow keys), each
    showing its pane alone, within the screen."""
    from playwright.sync_api import expect

    page = open_page(browser, **PHONE)
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    tabs = page.get_by_role("tablist").get_by_role("tab")
    expect(tabs).to_have_count(4)
    names = ["pane-apprentice", "pane-group", "pane-channel", "pane-site"]

    def assert_showing(pane_id: str) -> None:
        index = names.index(pane_id)
        for i, tab in enumerate(tabs.all()):
            expect(tab).to_have_attribute("aria-selected", str(i == index).lower())
        panel = page.get_by_role("tabpanel")  # the hidden ones are out of the accessibility tree
        expect(panel).to_have_attribute("id", pane_id)
        expect(panel).to_have_attribute(
            "aria-labelledby", tabs.nth(index).get_attribute("id") or ""
        )
        boxes = layout(page)
        assert boxes["document"] == [390, 844], boxes
        assert [pane["id"] for pane in boxes["panes"] if pane["shown"]] == [pane_id], boxes
        shown = next(pane for pane in boxes["panes"] if pane["shown"])
        assert 0 <= shown["left"] and shown["right"] <= 390 and shown["bottom"] <= 844, shown
        assert boxes["header"]["bottom"] <= shown["top"], boxes
        assert boxes["header"]["height"] <= 96, boxes["header"]
        assert_one_line(boxes["status"])

    assert_showing("pane-apprentice")
    page.fill("#text-private", "/start")
    page.press("#text-private", "Enter")
    expect(page.locator("#messages-private .msg:not(.mine)")).not_to_have_count(0)
    tabs.nth(1).tap()
    assert_showing("pane-group")
    page.fill("#text-group", "/aide")
    page.press("#text-group", "Enter")
    expect(page.locator("#messages-group .reply-btn")).not_to_have_count(0)
    expect(page.locator("#messages-private .reply-btn")).to_have_count(0)
    assert_chips_beside_the_text(page)
    tabs.nth(3).tap()
    assert_showing("pane-site")
    expect(page.frame_locator("#site-frame").locator("body")).to_be_visible()

    # The keyboard: arrows go round, Home and End to the ends, the tab chosen takes the focus.
    tabs.nth(3).focus()
    for key, pane_id in [
        ("ArrowRight", "pane-apprentice"),
        ("ArrowLeft", "pane-site"),
        ("ArrowLeft", "pane-channel"),
        ("Home", "pane-apprentice"),
        ("End", "pane-site"),
    ]:
        page.keyboard.press(key)
        expect(tabs.nth(names.index(pane_id))).to_be_focused()
        assert_showing(pane_id)
    page.keyboard.press("Home")
    assert_accessible(page)


def test_the_qr_posters_are_offered_for_download(browser_page: Any, sandbox_url: str) -> None:
    """The header's menu lists a poster per centre and the general one, in both languages;
    a click downloads the PDF."""
    from playwright.sync_api import expect

    page = browser_page
    page.goto(sandbox_url + "/")
    expect(page.locator("#status")).to_have_class("status ready")
    page.click("#posters summary")
    rows = page.locator("#poster-list li")
    expect(rows).to_have_count(5)  # the demo campaign's four centres and the general one
    expect(rows.nth(1)).to_contain_text("CFA de Dijon")
    assert_accessible(page)  # the menu open
    with page.expect_download() as download:
        rows.nth(1).get_by_role("link", name="CFA de Dijon — PDF fr").click()
    assert download.value.suggested_filename == "poster-cfa-dijon.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_fast_sends_are_all_sent_and_a_reload_shows_the_newest(
    browser: Any, tmp_path: Path, screen: str
) -> None:
    """A message typed while the previous one is on its way is sent too (it was wiped
    when the first one's answer came back); after a reload, with photos in the chat, the
    phone shows its newest message."""
    from playwright.sync_api import expect

    page = open_page(browser, **(PHONE if screen == "phone" else {}))
    process = SandboxProcess(tmp_path, "sandbox", "--port", "0")
    try:
        url = process.wait_ready()
        page.goto(url + "/")
        expect(page.locator("#status")).to_have_class("status ready")
        phone = page.locator("#messages-private")
        page.fill("#text-private", "un")
        # The send's own refresh (a view request) comes after its answer was handled: both
        # waited for from before the send, so a quick refresh is never missed.
        answered: list[str] = []
        page.on("response", lambda r: answered.append(r.url) if "/api/send" in r.url else None)
        with page.expect_request(lambda r: "/sandbox/api/view" in r.url and bool(answered)):
            page.press("#text-private", "Enter")
            page.keyboard.type("deux")  # while « un » is on its way
        expect(phone.locator(".msg.mine", has_text="un")).to_have_count(1)
        expect(page.locator("#text-private")).to_have_value("deux")
        page.press("#text-private", "Enter")
        expect(phone.locator(".msg.mine", has_text="deux")).to_have_count(1)
        expect(page.locator("#text-private")).to_have_value("")

        for shown, sample in enumerate(("electricienne", "mecanicien", "coiffeuse"), start=1):
            if page.locator("#attach-private").is_hidden():
                page.click('.clip[data-chat="private"]')
            page.click(f'.sample[data-sample="{sample}"]')
            expect(phone.locator("img.photo")).to_have_count(shown)
        page.fill("#text-private", "/aide")
        page.press("#text-private", "Enter")
        expect(phone.locator(".msg").last).not_to_have_class(re.compile("mine"))
        page.reload()
        expect(page.locator("#status")).to_have_class("status ready")
        # Every photo loaded, and the chat at its bottom (waited for, not slept on).
        page.wait_for_function(
            "() => { const b = document.querySelector('#messages-private');"
            " return [...b.querySelectorAll('img')].every((i) => i.complete)"
            " && b.scrollHeight - b.scrollTop - b.clientHeight < 60; }"
        )
        expect(phone.locator(".msg").last).to_be_in_viewport()
    finally:
        process.stop()
