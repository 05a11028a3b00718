"""The printable QR posters: each an A4 page whose QR code, printed, opens the right link.

Every poster is read back as a printer and a phone would: pypdfium2 (PDFium, Chrome's PDF
engine) rasterizes the page at 150 dpi, zxing-cpp decodes the QR code from those pixels, and
PDFium extracts the page's text and where each character lies.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from bot.app.cli import main
from bot.config import Centre, Settings, bot_username, settings_from_dict
from bot.i18n import LANGUAGES, plain
from bot.ops.posters import (
    MARGIN,
    deep_link,
    poster_filename,
    poster_files,
    poster_pdf,
)
from bot.sandbox.emulator import Emulator
from tests.support import ROOT
from tests.support.posters import Page
from tests.support.stand import CAMPAIGN, TOKEN, stand_config, write_config

# Each poster is drawn, rasterized and its QR code decoded: seconds per test.
pytestmark = pytest.mark.slow

A4 = (595, 842)
BOT = "fiers_bot"
LONG_NAME = (
    "Centre de formation d’apprentis interprofessionnel de la Chambre de métiers et de "
    "l’artisanat de Saône-et-Loire (Mâcon)"
)


def raw_config(api_url: str = "https://api.telegram.org", **campaign: Any) -> dict[str, Any]:
    raw = stand_config(
        api_url=api_url,
        db_url="sqlite+aiosqlite:///unused.sqlite3",
        data_dir=Path("/tmp/unused"),
        group_id=-100,
        moderators=[1],
    )
    raw["campaign"] = {**CAMPAIGN, "hashtags": ["#FiersDEtreApprentis", "#Apprentissage"]}
    raw["campaign"].update(campaign)
    return raw


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_from_dict(raw_config(), base_dir=Path("."))


def drawn(settings: Settings, centre: Centre | None, language: str, bot: str = BOT) -> bytes:
    """A poster, every glyph in the font: matplotlib warns of a missing one (an accent, a
    curly apostrophe)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph")
        return poster_pdf(settings, bot, centre, language)


def check_poster(page: Page, settings: Settings, centre: Centre | None, language: str) -> None:
    link = deep_link(BOT, centre)
    assert page.pages == 1
    assert page.size == pytest.approx(A4, abs=1)
    assert page.codes() == [link]
    words = page.words()
    assert settings.campaign.name in words
    assert all(tag in words for tag in settings.campaign.hashtags)
    assert " ".join(plain(language, "poster.call").split()) in words
    assert link in words
    if centre is not None:
        assert " ".join(centre.name.split()) in words


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_poster_is_one_a4_page_whose_qr_code_opens_its_centre(
    settings: Settings, language: str
) -> None:
    for name, centre in poster_files(settings, language).items():
        page = Page(drawn(settings, centre, language))
        check_poster(page, settings, centre, language)
        steps = ("poster.step.scan", "poster.step.selfie", "poster.step.published")
        assert all(plain(language, step).split()[-1] in page.words() for step in steps), name


def test_links_and_file_names(settings: Settings) -> None:
    dijon = settings.campaign.centres[0]
    assert deep_link("@fiers_bot", dijon) == "https://t.me/fiers_bot?start=cfa-dijon"
    assert deep_link("fiers_bot", None) == "https://t.me/fiers_bot"
    assert list(poster_files(settings)) == [
        "poster.pdf",
        "poster-cfa-dijon.pdf",
        "poster-cfa-auxerre.pdf",
        "poster-cfa-macon.pdf",
    ]
    assert poster_filename(dijon, "en") == "poster-cfa-dijon.en.pdf"
    assert poster_filename(None, "en") == "poster.en.pdf"
    for wrong in ("a b", "bot", "fiers/bot", "https://t.me/x"):
        with pytest.raises(ValueError):
            bot_username(wrong)


def test_a_long_centre_name_wraps_inside_the_page() -> None:
    longest = "x" * 64  # a code as long as Telegram's /start payload allows
    settings = settings_from_dict(
        raw_config(
            name="Fiers d’être apprentis et apprenties de Bourgogne-Franche-Comté en 2026 !",
            centres=[{"code": longest, "name": LONG_NAME}],
        ),
        base_dir=Path("."),
    )
    centre = settings.campaign.centres[0]
    bot = "b" * 29 + "bot"  # the longest username Telegram gives
    page = Page(drawn(settings, centre, "fr", bot))
    assert page.pages == 1 and page.codes() == [deep_link(bot, centre)]
    assert " ".join(LONG_NAME.split()) in page.words()
    assert deep_link(bot, centre) in "".join(page.text.split())  # the link, cut if need be
    width, height = page.size
    outside = [
        box
        for box in page.boxes
        if box[0] < MARGIN - 1 or box[2] > width - MARGIN + 1 or box[1] < 0 or box[3] > height
    ]
    assert outside == []


def test_same_poster_same_bytes(settings: Settings) -> None:
    centre = settings.campaign.centres[2]
    assert poster_pdf(settings, BOT, centre, "fr") == poster_pdf(settings, BOT, centre, "fr")


def test_the_running_bot_does_not_load_the_drawing_libraries() -> None:
    """matplotlib costs tens of MB: only a poster being drawn imports it."""
    code = (
        "import sys, bot.app.application, bot.ops.posters, bot.sandbox.web, bot.app.cli; "
        "print(sorted(m for m in ('matplotlib', 'segno') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# -- the command ---------------------------------------------------------------------------


def run(*argv: str) -> int:
    return main(list(argv))


def test_command_writes_one_poster_per_centre_and_a_general_one(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config.toml", raw_config())
    out = tmp_path / "print"
    assert run("posters", "--config", str(config), "--out", str(out), "--bot", "@fiers_bot") == 0
    names = ["poster.pdf", "poster-cfa-dijon.pdf", "poster-cfa-auxerre.pdf", "poster-cfa-macon.pdf"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{out / 'poster.pdf'}: general poster, no centre",
        f"{out / 'poster-cfa-dijon.pdf'}: CFA de Dijon",
        f"{out / 'poster-cfa-auxerre.pdf'}: CFA d'Auxerre",
        f"{out / 'poster-cfa-macon.pdf'}: CFA de Mâcon",
    ]
    for name, centre in poster_files(settings).items():
        check_poster(Page((out / name).read_bytes()), settings, centre, "fr")

    assert run("posters", "--config", str(config), "--out", str(out), "--language", "en",
               "--bot", BOT) == 0  # fmt: skip
    english = {poster_filename(centre, "en") for centre in [None, *settings.campaign.centres]}
    assert {p.name for p in out.iterdir()} == set(names) | english
    page = Page((out / "poster-cfa-macon.en.pdf").read_bytes())
    check_poster(page, settings, settings.campaign.centres[2], "en")


async def test_command_asks_telegram_for_the_username(tmp_path: Path) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_asked_bot") as emu:
        config = write_config(tmp_path / "config.toml", raw_config(emu.api_url))
        out = tmp_path / "posters"
        argv = ["posters", "--config", str(config), "--out", str(out)]
        assert await asyncio.to_thread(main, argv) == 0
        assert [call.method for call in emu.calls] == ["getMe"]
    page = Page((out / "poster-cfa-dijon.pdf").read_bytes())
    assert page.codes() == ["https://t.me/fiers_asked_bot?start=cfa-dijon"]


def test_command_without_token_nor_username_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SELFIE_BOT_TOKEN", raising=False)
    raw = raw_config()
    raw["telegram"]["token"] = ""
    config = write_config(tmp_path / "config.toml", raw)
    assert run("posters", "--config", str(config), "--out", str(tmp_path / "out")) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "telegram.token" in line and "--bot USERNAME" in line
    assert not (tmp_path / "out").exists()


def test_command_when_telegram_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SELFIE_BOT_TOKEN", raising=False)
    with socket.socket() as probe:  # a port just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = write_config(tmp_path / "config.toml", raw_config(closed))
    assert run("posters", "--config", str(config), "--out", str(tmp_path / "out")) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"Telegram cannot be reached at {closed} (")
    assert line.endswith("give --bot USERNAME")
    assert TOKEN.split(":")[1] not in line


async def test_command_with_a_token_telegram_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SELFIE_BOT_TOKEN", raising=False)
    async with Emulator(token="999:another-bot") as emu:
        config = write_config(tmp_path / "config.toml", raw_config(emu.api_url))
        argv = ["posters", "--config", str(config), "--out", str(tmp_path / "out")]
        assert await asyncio.to_thread(main, argv) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("Telegram refused the token")


def test_command_refuses_a_wrong_username(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config.toml", raw_config())
    assert run("posters", "--config", str(config), "--bot", "t.me/fiers_bot") == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("--bot: ")
