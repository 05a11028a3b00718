"""The ``selfie-bot`` command: run the bot, check a configuration, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import __version__
from bot.config import TOKEN_ENV, ConfigError, Settings, default_config_path, load_settings

EXIT_CONFIG = 2

NO_TOKEN_HELP = f"""\
selfie-bot needs a bot token to talk to Telegram, and none is configured.
Get one in two minutes: open Telegram, write to @BotFather, send /newbot, choose a name and a \
username ending in "bot"; BotFather answers with a token like 123456789:AAH…. Put it in the \
[telegram] section of your configuration file (token = "…", see config.example.toml) or in \
the environment variable {TOKEN_ENV}, which wins over the file. Then add the bot to your \
campaign channel as an administrator allowed to post, and to the moderators' group."""


class _RedactToken(logging.Filter):
    """Keeps the token out of every log line, whatever library writes it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        return True


def configure_logging(token: str, level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if token:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_RedactToken(token))


def _load(path: Path) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    if not settings.token:
        print(f"telegram.token: empty (set it in the file or in {TOKEN_ENV})", file=sys.stderr)
        return EXIT_CONFIG
    print("ok")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    if not settings.token:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.token, logging.DEBUG if args.verbose else logging.INFO)
    from bot.app import build_application

    application = build_application(settings)
    application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    from models.db import current_revision, downgrade, upgrade

    url = settings.database.url
    if args.action == "upgrade":
        asyncio.run(upgrade(url, args.revision or "head"))
    elif args.action == "downgrade":
        asyncio.run(downgrade(url, args.revision or "-1"))
    print(asyncio.run(current_revision(url)) or "empty database")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfie-bot",
        description="Telegram bot for apprenticeship selfie campaigns.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--config",
            type=Path,
            default=default_config_path(),
            help="configuration file (default: $SELFIE_BOT_CONFIG or ./config.toml)",
        )
        return sub

    run = add("run", "Run the bot (long polling); upgrades the database first.")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=cmd_run)

    check = add("check-config", "Validate a configuration file: prints ok or one line per problem.")
    check.set_defaults(handler=cmd_check_config)

    db = add("db", "Database migrations.")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (default: head / one step down)")
    db.set_defaults(handler=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
