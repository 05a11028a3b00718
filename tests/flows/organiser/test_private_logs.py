"""Nothing personal in the logs, and the token in no output at all (issue 14).

The logging is the one ``selfie-bot run -v`` configures (:func:`bot.app.cli.configure_logging`
at DEBUG, written to stderr), so what is tested is its caps and its redaction, not a
test-only set-up.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli import EXIT_CONFIG, TOKEN_REFUSED, configure_logging
from bot.config import TOKEN_ENV
from bot.i18n import t
from bot.sandbox.emulator import Emulator, User
from bot.telegram.publisher import Publisher
from models import Apprentice, SubmissionStatus
from tests.support import imagegen
from tests.support.stand import (
    TOKEN,
    Stand,
    data_of,
    has_button,
    process_config,
    running_stand,
    walk_to_photo,
    write_config,
)

FIRST_NAME = "Zéphyrine"
USERNAME = "zephy_the_baker"
SHOWN_NAME = "Zéphy Farinelle"
QUOTE = "Mon levain s'appelle Ornithorynque"
REFUSED_NAME = "Barnabéus"
REFUSED_USERNAME = "barnab_the_welder"
REASON = "Casque absent, recommence avec Kookaburra"
QUIET = {"cron": "0 3 29 2 *"}  # 29 February, 03:00: the test runs the publication slot
SECRET = TOKEN.split(":")[1]


@pytest.fixture
def bot_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What ``selfie-bot run -v`` would write to stderr during the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    configure_logging(TOKEN, logging.DEBUG)
    yield stderr
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


async def send_entry(stand: Stand, user: User, **choices: str) -> dict:
    """Photo, preview, send; the card the moderators receive."""
    await walk_to_photo(stand, user, **choices)
    await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=user.id))
    await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
    await stand.reply(user, "envoy")
    return await stand.emu.wait_for(
        stand.group, lambda m: any(d.startswith("mod:ok:") for d in data_of(m)), edits=False
    )


async def status_of(stand: Stand, number: int, status: SubmissionStatus) -> None:
    async with asyncio.timeout(10):
        while {e.id: e.status for e in await stand.stored()}.get(number) != status:
            await asyncio.sleep(0.02)


async def test_a_whole_campaign_logs_ids_only(
    db_url: str, tmp_path: Path, bot_log: io.StringIO
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        zephyrine = emu.create_user(FIRST_NAME, username=USERNAME, language_code="fr")
        await emu.send_text(zephyrine, "/start")
        await stand.press(
            zephyrine, await stand.reply(zephyrine, has_button("consent:")), "consent:yes"
        )
        await stand.press(zephyrine, await stand.reply(zephyrine, has_button("age:")), "age:adult")
        await stand.press(
            zephyrine, await stand.reply(zephyrine, has_button("name:")), "name:other"
        )
        await stand.reply(zephyrine, t("fr", "name.type_it"))
        await emu.send_text(zephyrine, SHOWN_NAME)
        await stand.press(
            zephyrine, await stand.reply(zephyrine, has_button("trade:")), "trade:0:0"
        )
        await stand.press(
            zephyrine, await stand.reply(zephyrine, has_button("centre:")), "centre:0"
        )
        await stand.reply(zephyrine, has_button("quote:"))
        await emu.send_text(zephyrine, QUOTE)
        await stand.reply(zephyrine, "📸")
        await emu.send_photo(zephyrine, imagegen.photo_jpeg(1280, 960, seed=7))
        preview = await stand.reply(zephyrine, has_button("preview:"))
        assert SHOWN_NAME in preview["caption"] and QUOTE in preview["caption"]
        await stand.press(zephyrine, preview, "preview:send")
        await stand.reply(zephyrine, "envoy")
        card = await emu.wait_for(stand.group, has_button("mod:ok:1"), edits=False)
        await stand.press(camille, card, "mod:ok:1")
        await status_of(stand, 1, SubmissionStatus.APPROVED)
        assert await Publisher(stand.app.services).run_slot(stand.app.bot) == [1]
        [post] = emu.bot_messages(stand.channel)
        assert SHOWN_NAME in post["caption"] and QUOTE in post["caption"]

        barnabeus = emu.create_user(REFUSED_NAME, username=REFUSED_USERNAME, language_code="fr")
        card = await send_entry(stand, barnabeus)
        await stand.press(camille, card, "mod:no:2")
        reasons = await emu.wait_for(stand.group, has_button("mod:other:2"))
        await stand.press(camille, reasons, "mod:other:2")
        await emu.send_text(camille, REASON, chat=stand.group, reply_to=card)
        told = await stand.reply(barnabeus, "Kookaburra")
        assert REASON in told["text"]
        paths = [entry.photo_path for entry in await stand.stored()]

    log = bot_log.getvalue()
    assert "entry 1 posted" in log  # the bot's own DEBUG and INFO lines are there
    assert "Calling Bot API endpoint" not in log and "Processing update" not in log
    private = [FIRST_NAME, USERNAME, SHOWN_NAME, "Ornithorynque", REFUSED_NAME, REFUSED_USERNAME]
    private += [
        "Kookaburra",
        "camille_modo",
        "Phonix",
        TOKEN,
        SECRET,
    ]  # Phonix: the EXIF camera make
    private += [Path(path).stem for path in paths]
    assert [word for word in private for form in written(word) if form in log] == []


def written(word: str) -> set[str]:
    """``word`` as a log line may show it: as is, escaped by JSON or repr, or in a URL."""
    return {word, json.dumps(word)[1:-1], ascii(word)[1:-1], quote(word)}


async def run_bot(raw: dict, tmp_path: Path) -> tuple[int, str, str]:
    """``selfie-bot run`` with this configuration: its exit status, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "run", "--config"),
        str(write_config(tmp_path / "config.toml", raw)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_refused_token_stops_run_with_one_line_and_never_shows_it(tmp_path: Path) -> None:
    wrong = "987654:AAH-revoked-Mistral-secret"
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        code, out, err = await run_bot(
            process_config(emu, tmp_path, telegram={"token": wrong}), tmp_path
        )
    assert code == EXIT_CONFIG
    assert err.splitlines()[-1] == TOKEN_REFUSED
    assert "Traceback" not in err and "InvalidToken" not in err
    assert "Mistral" not in out + err


async def test_an_unexpected_error_in_run_goes_through_the_logging(tmp_path: Path) -> None:
    """Here Telegram cannot be reached at start: logged, as a critical error, exit 1."""
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path)
    code, out, err = await run_bot(raw, tmp_path)  # the emulator has stopped listening
    assert code == 1
    assert "CRITICAL bot.app.cli: selfie-bot stopped by an unexpected error" in err
    assert "Traceback" in err and "telegram.error.NetworkError" in err
    assert SECRET not in out + err


def test_the_token_is_blanked_in_logged_tracebacks(bot_log: io.StringIO) -> None:
    """An exception naming the token, or a URL holding it, logged with its traceback."""
    try:
        try:
            raise RuntimeError(f"GET {stand_url()}/getMe failed")
        except RuntimeError as error:
            raise ValueError(f"The token `{TOKEN}` was rejected") from error
    except ValueError:
        logging.getLogger("bot.anything").exception("start failed for %s", TOKEN)
    log = bot_log.getvalue()
    assert "start failed for <token>" in log
    assert "The token `<token>` was rejected" in log and "<token>/getMe failed" in log
    assert "RuntimeError" in log and SECRET not in log


async def test_a_database_error_logged_shows_no_parameters(
    session_factory: async_sessionmaker[AsyncSession], bot_log: io.StringIO
) -> None:
    """SQLAlchemy writes a failed statement's parameters (names, quotes, saved conversations)
    into its error message, which the error handler and the persistence log with the
    traceback."""
    for attempt in range(2):  # the second one breaks the primary key
        try:
            async with session_factory() as session, session.begin():
                session.add(Apprentice(id=1001, first_name=FIRST_NAME, username=USERNAME))
        except IntegrityError:
            assert attempt == 1
            logging.getLogger("bot.app.persistence").exception("apprentice not saved")
    log = bot_log.getvalue()
    assert "IntegrityError" in log and "INSERT INTO apprentices" in log
    assert [word for word in (FIRST_NAME, USERNAME) for form in written(word) if form in log] == []


def stand_url() -> str:
    """A Bot API URL as PTB builds it, the token in its path, its colon escaped."""
    return f"http://127.0.0.1:8081/bot{TOKEN.replace(':', '%3A')}"


async def test_an_unreadable_update_is_skipped_and_logged_by_id_and_type(
    db_url: str, tmp_path: Path, bot_log: io.StringIO
) -> None:
    """PTB cannot parse this message (its date is text): it would log the whole batch and
    ask for it again at each poll, forever. The bot skips it, logs ids and types only, and
    answers what comes next."""
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        zephyrine = emu.create_user(FIRST_NAME, username=USERNAME, language_code="fr")
        chat = {"id": zephyrine.id, "type": "private", "first_name": FIRST_NAME}
        sender = {"id": zephyrine.id, "is_bot": False, "first_name": FIRST_NAME}
        message = {"message_id": 1, "date": "hier", "chat": chat, "from": sender, "text": QUOTE}
        update = emu.world.updates.push("message", message)
        assert update is not None
        async with asyncio.timeout(10):
            while "skipped" not in bot_log.getvalue():
                await asyncio.sleep(0.01)
        await emu.send_text(zephyrine, "/start")
        await stand.reply(zephyrine, has_button("consent:"))

    log = bot_log.getvalue()
    said = [line.split(" ", 2)[2] for line in log.splitlines() if "be read" in line]
    number = update["update_id"]
    assert said == [
        f"WARNING telegram.ext.ExtBot: polling: updates {number} (message) could not be read "
        "(TypeError): not handled, asked for again",
        f"WARNING bot.app.polling: polling: update {number} (message) cannot be read "
        "(TypeError): skipped",
    ]
    assert "Received data" not in log and "Traceback" not in log
    assert [word for word in (FIRST_NAME, USERNAME, QUOTE) for f in written(word) if f in log] == []
