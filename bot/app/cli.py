"""The ``selfie-bot`` command: run the bot, try it in the sandbox, check a configuration,
manage the database, export the consent register, build and preview the public site, write
the printable QR posters, back up and restore. Without a subcommand it runs the bot when a
token is configured, and otherwise starts the sandbox (the real bot against an emulated
Telegram, in the browser)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken
from telegram.ext import Application, ContextTypes

from bot import __version__
from bot.app.logs import log_unreadable_updates
from bot.config import (
    TOKEN_ENV,
    ConfigError,
    Settings,
    TelegramSettings,
    bot_username,
    default_config_path,
    load_settings,
)

EXIT_CONFIG = 2
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

TOKEN_REFUSED = (
    f"Telegram refused the token: check telegram.token or {TOKEN_ENV}; "
    "get a new one from @BotFather"
)
NO_TOKEN_HELP = f"""\
selfie-bot needs a bot token to talk to Telegram, and none is configured.
Get one in two minutes: open Telegram, write to @BotFather, send /newbot, choose a name and a \
username ending in "bot"; BotFather answers with a token like 123456789:AAH…. Put it in the \
[telegram] section of your configuration file (token = "…", see config.example.toml) or in \
the environment variable {TOKEN_ENV}, which wins over the file. Then add the bot to your \
campaign channel as an administrator allowed to post, and to the moderators' group."""


log = logging.getLogger(__name__)

# Loggers capped because their lower levels write what must stay private: the token, and
# the apprentices' names, captions, quotes and photos' metadata.
CAPPED_LOGGERS = {
    "httpx": logging.WARNING,  # every request URL at INFO, and Bot API URLs hold the token
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    # DEBUG: every call's parameters and every answer. PTB logs through the bot's class
    # logger, and the Application's bot is an ExtBot (a plain Bot would log as telegram.Bot).
    "telegram.ext.ExtBot": logging.INFO,
    "telegram.ext.Application": logging.INFO,  # DEBUG: every update, names and texts included
    "aiosqlite": logging.INFO,  # DEBUG: every statement with its parameters
    "PIL": logging.INFO,  # DEBUG: the photos' EXIF tags (camera, place, author)
}


class _RedactingFormatter(logging.Formatter):
    """Blanks the token in the whole formatted record, traceback included: ``InvalidToken``
    quotes it, and an httpx error shows the request URL, ``…/bot<token>/…``."""

    def __init__(self, token: str, webhook_secret: str = "") -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        # The secret half too: the bot's id before the colon is public, and an encoded URL
        # may show the token with its colon escaped.
        self.secrets = [(s, "<token>") for s in (token, token.partition(":")[2]) if s]
        if webhook_secret:
            self.secrets.append((webhook_secret, "<secret>"))

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        for secret, blank in self.secrets:
            text = text.replace(secret, blank)
        return text


def configure_logging(token: str, level: int = logging.INFO, webhook_secret: str = "") -> None:
    """Log to stderr, token and webhook secret blanked, ids only: the capped loggers stay
    quiet below their cap even at DEBUG (``-v``), which is then the bot's own lines and
    PTB's flow."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(token, webhook_secret))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name, cap in CAPPED_LOGGERS.items():
        logging.getLogger(name).setLevel(cap)
    log_unreadable_updates()


class CommandRefused(Exception):
    """A command stops with :data:`EXIT_CONFIG`, its reason already printed (see
    :func:`main`)."""


def settings_or_exit(path: Path, *, database: bool = False) -> Settings:
    """A command's configuration (and, with ``database``, its database reached once); else
    every problem printed and the command ends with :data:`EXIT_CONFIG`."""
    try:
        settings = load_settings(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        raise CommandRefused from None
    if database and _database(settings) is None:
        raise CommandRefused
    return settings


def _database(settings: Settings) -> str | None:
    """Connects once: the server and its version, or None once the problem is printed."""
    from models.db import DatabaseProblem, check_database

    try:
        return asyncio.run(check_database(settings.database.url))
    except DatabaseProblem as problem:
        print(problem, file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config)
    if not settings.token:
        print(f"telegram.token: empty (set it in the file or in {TOKEN_ENV})", file=sys.stderr)
        return EXIT_CONFIG
    database = _database(settings) if args.connect else None
    if args.connect and database is None:
        return EXIT_CONFIG
    _warn_without_campaign_end(settings)
    _warn_of_an_unfinished_site(settings)
    print(f"ok (database: {database})" if database else "ok")
    return 0


def _warn_without_campaign_end(settings: Settings) -> None:
    if settings.campaign.ends is None:
        print(
            "campaign.ends: not set, so personal data is never erased on the ground that the "
            "campaign is over (retention.months_after_campaign): set the campaign's last day",
            file=sys.stderr,
        )


def _warn_of_an_unfinished_site(settings: Settings) -> None:
    """A public site must name who publishes it, and should lead to the bot."""
    gallery = settings.gallery
    if not gallery.enabled:
        return
    for key in gallery.legal.missing():
        print(
            f"gallery.legal.{key}: empty, so the site's legal pages (mentions légales, "
            "accessibility statement, privacy notice) say it is to be completed",
            file=sys.stderr,
        )
    if not gallery.bot_username:
        print(
            "gallery.bot_username: empty, so the site has no « Participe » link to the bot",
            file=sys.stderr,
        )


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config)
    if not settings.token:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    if _database(settings) is None:
        return EXIT_CONFIG
    level = logging.DEBUG if args.verbose else logging.INFO
    configure_logging(settings.token, level, settings.telegram.secret_token)
    ptb = logging.getLogger("telegram.ext")
    ptb.addFilter(_refused_at_start)
    from bot.app.webhook import WebhookProblem
    from bot.files import AlreadyRunning, running_lock

    try:
        with running_lock(settings.storage.path):
            serve(settings, on_ready=lambda _: ptb.removeFilter(_refused_at_start))
    except AlreadyRunning as problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    except WebhookProblem as problem:
        print(problem, file=sys.stderr)  # maybe a passing clash: the service restarts
        return 1
    except InvalidToken:
        print(TOKEN_REFUSED, file=sys.stderr)
        return EXIT_CONFIG
    except Exception:
        # Through the logging, whose formatter blanks the token; Python's own report would not.
        log.critical("selfie-bot stopped by an unexpected error", exc_info=True)
        return 1
    return 0


def _refused_at_start(record: logging.LogRecord) -> bool:
    """Drops PTB's traceback for a token refused at start, which ``run`` says in one line;
    removed once the bot is up, so a token revoked later is still logged."""
    return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


def serve(settings: Settings, on_ready: Callable[[Application], Any] | None = None) -> None:
    """Build the bot and run it until Ctrl-C or SIGTERM (``run`` and ``sandbox`` alike).

    ``on_ready`` is called in the bot's event loop once it has started: as the first job,
    which PTB runs only once the updates are coming in. Said earlier (in ``post_init``), a
    Ctrl-C right after it stopped PTB's start-up half-way, with a traceback.
    """
    from bot.app.application import build_application

    application = build_application(settings)
    if on_ready is not None:
        assert application.job_queue is not None

        async def ready(context: ContextTypes.DEFAULT_TYPE) -> None:
            on_ready(context.application)

        # However late the job queue starts it (APScheduler drops a job over a second late
        # by default: on a loaded machine the sandbox then never said its address).
        application.job_queue.run_once(
            ready, when=0, name="ready", job_kwargs={"misfire_grace_time": None}
        )
    receive(application, settings.telegram)


def receive(application: Application, telegram: TelegramSettings) -> None:
    """Run until SIGINT or SIGTERM, updates by polling or on the webhook
    (:mod:`bot.app.webhook`, the bot's own server).

    Either way the stop lets the updates in hand and the running jobs finish (a
    publication is recorded before the process exits). Polling deletes any webhook first,
    so going back to polling is changing ``telegram.mode`` alone.
    """
    from bot.app.webhook import quiet_servers, serve_webhook

    quiet_servers()
    if telegram.mode == "polling":
        application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        return
    serve_webhook(application, telegram, ALLOWED_UPDATES)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The emulator, a demo world and the real bot; prints the URL of the page."""
    from bot.sandbox import demo

    config: Path | None = args.config
    if config is not None and not config.is_file():
        if args.config_explicit:
            print(f"{config}: file not found", file=sys.stderr)
            return EXIT_CONFIG
        config = None
    try:
        raw, base_dir = demo.load_raw(config)
    except tomllib.TOMLDecodeError as error:
        print(f"{config}: not valid TOML ({error})", file=sys.stderr)
        return EXIT_CONFIG
    data: Path = args.data.resolve()
    try:
        demo.reset_data(data)
    except demo.NotASandboxFolder:
        print(
            f"sandbox: {data} was not made by the sandbox (no {demo.MARKER} in it) and is not "
            "empty; the sandbox empties its data folder at each start, so give --data a new "
            "or empty folder",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(demo.TOKEN, logging.DEBUG if args.verbose else logging.WARNING)
    if not args.verbose:
        logging.getLogger("bot.sandbox.emulator.spec").setLevel(logging.ERROR)
    campaign = raw.get("campaign", {}).get("name") or "Selfie bot"
    thread = demo.EmulatorThread(demo.channel_username(raw), data / "samples", bot_name=campaign)
    port = demo.DEFAULT_PORT if args.port is None else args.port
    try:
        url = thread.start("127.0.0.1", port, any_port_if_busy=args.port is None)
    except OSError as error:
        print(f"sandbox: cannot listen on 127.0.0.1:{port} ({error.strerror})", file=sys.stderr)
        return EXIT_CONFIG
    try:
        assert thread.world is not None
        world = thread.world
        try:
            settings = demo.sandbox_settings(raw, base_dir, world, url, data)
        except ConfigError as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            return EXIT_CONFIG

        moved = "" if url.endswith(f":{port}") else f" (port {port} was taken)"

        def ready(app: Application) -> None:
            world.bot_loop = asyncio.get_running_loop()
            world.bot_app = app
            print(
                f"Sandbox ready: open {url}/ in your browser{moved} "
                f"(Ctrl-C to stop; data in {data}).",
                flush=True,
            )

        serve(settings, on_ready=ready)
    finally:
        thread.stop()
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    """``selfie-bot`` alone: the bot when a token is configured, else the sandbox."""
    path = default_config_path()
    if path.is_file():
        settings = settings_or_exit(path)
        if settings.token:
            args.config = path
            return cmd_run(args)
        why = f"the token in {path} is empty"
    else:
        why = f"no {path}"
    print(
        f"No Telegram bot token configured ({why}): starting the sandbox, the real bot "
        "against an emulated Telegram on this machine (selfie-bot run once you have a token).",
        flush=True,
    )
    args.config = path if path.is_file() else None
    return cmd_sandbox(args)


def cmd_db(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config, database=True)
    from models.db import current_revision, downgrade, upgrade

    url = settings.database.url
    if args.action == "upgrade":
        asyncio.run(upgrade(url, args.revision or "head"))
    elif args.action == "downgrade":
        asyncio.run(downgrade(url, args.revision or "-1"))
    print(asyncio.run(current_revision(url)) or "empty database")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Apply the retention rules now (the bot also does it daily): counts, never names."""
    settings = settings_or_exit(args.config, database=True)
    from bot.ops.retention import purge
    from bot.services import make_services
    from models.db import upgrade

    async def apply() -> list[str]:
        services = make_services(settings)
        try:
            await upgrade(services.engine)
            return (await purge(services, dry_run=args.dry_run)).lines()
        finally:
            await services.engine.dispose()

    lines = asyncio.run(apply())
    if args.dry_run:
        print("dry run: nothing removed; a purge now would remove:")
    print("\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.photos and args.out is None:
        args.usage_error("--photos writes a ZIP file: give it --out FILE")
    settings = settings_or_exit(args.config, database=True)
    from bot.ops.export import ExportProblem, export

    try:
        summary = export(settings, args.out, photos=args.photos, stdout=sys.stdout.buffer)
    except ExportProblem as problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    if args.out is not None:
        print(summary, file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent archive of the database and the photos, safe while the bot runs."""
    import shutil

    from bot.ops.backup import BackupProblem, backup

    settings = settings_or_exit(args.config, database=True)
    try:
        manifest = backup(settings, args.out, pg_dump=shutil.which("pg_dump"))
    except BackupProblem as problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    except OSError as error:
        print(f"backup: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.out}: {manifest.describe()}")
    if manifest.database_member is None:
        print(
            "pg_dump not found on PATH: the archive holds the photos only; dump the database "
            "with pg_dump --format=custom before each backup (see the README)",
            file=sys.stderr,
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a backup back, on a stopped bot."""
    import shutil

    from bot.ops.backup import BackupProblem, restore

    settings = settings_or_exit(args.config)
    try:
        lines = restore(
            settings, args.archive, force=args.force, pg_restore=shutil.which("pg_restore")
        )
    except BackupProblem as problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    except OSError as error:
        print(f"restore: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print("\n".join(lines))
    return 0


def cmd_gallery_build(args: argparse.Namespace) -> int:
    """Rebuild the public site from the database: into ``gallery.path``, or into ``--out``
    for a preview (then even with the site disabled)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from bot.config import GallerySettings
    from bot.site.gallery import GalleryFolderProblem, build_once

    settings = settings_or_exit(args.config, database=True)
    gallery = settings.gallery
    if args.out is None and not gallery.enabled:
        print(
            f"gallery.enabled: false, so the bot would not keep {gallery.path} in step with the "
            "channel (withdrawn selfies would stay online); build a preview with --out DIR",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        checked = GallerySettings(base_url=args.base_url or gallery.base_url)
    except ValidationError:
        print(
            "--base-url: must be an http(s) URL such as https://www.example.org/selfies/",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if not checked.base_url:
        print(
            "gallery.base_url: required (feeds, shares and the sitemap need absolute links): "
            "set it, or give --base-url URL",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    site = gallery.model_copy(
        update={
            "enabled": True,
            "base_url": checked.base_url,
            "path": args.out.resolve() if args.out else gallery.path,
        }
    )
    try:
        report = asyncio.run(build_once(settings.model_copy(update={"gallery": site})))
    except GalleryFolderProblem as problem:
        print(
            str(problem).replace("gallery.path", "--out" if args.out else "gallery.path"),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except DBAPIError as error:
        reason = (str(error.orig) or type(error.orig).__name__).splitlines()[0]
        print(
            f"database.url: cannot read the entries ({reason}); is the database up to date? "
            "(selfie-bot db upgrade)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    print(f"{report} in {site.path}")
    return 0


def cmd_posters(args: argparse.Namespace) -> int:
    """Write the printable QR posters: one per centre of campaign.centres, one general."""
    from bot.ops.posters import write_posters

    settings = settings_or_exit(args.config)
    try:
        username = (
            bot_username(args.bot)
            if args.bot
            else settings.gallery.bot_username or _asked_username(settings)
        )
    except ValueError as problem:
        print(f"--bot: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except _NoAnswer as problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        written = write_posters(settings, username, args.out, args.language)
    except OSError as error:
        print(f"--out: cannot write posters in {args.out} ({error.strerror})", file=sys.stderr)
        return EXIT_CONFIG
    for path, centre in written:
        print(f"{path}: {centre.name if centre else 'general poster, no centre'}")
    return 0


class _NoAnswer(Exception):
    """Telegram could not say the bot's username: the reason, in one line."""


def _asked_username(settings: Settings) -> str:
    """The bot's username from Telegram's getMe, with the configured token and API URL."""
    from telegram import Bot
    from telegram.error import TelegramError

    if not settings.token:
        raise _NoAnswer(
            f"telegram.token: empty, so Telegram cannot tell the bot's username: set the token "
            f"(or {TOKEN_ENV}), or give --bot USERNAME"
        )
    api_url = settings.telegram.api_url

    async def ask() -> str:
        bot = Bot(settings.token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
        async with bot:  # initialize() asks getMe
            return bot.username

    try:
        return asyncio.run(ask())
    except InvalidToken:
        raise _NoAnswer(TOKEN_REFUSED) from None
    except TelegramError as error:
        reason = _RedactingFormatter(settings.token).redact(str(error).splitlines()[0])
        raise _NoAnswer(
            f"Telegram cannot be reached at {api_url} ({reason}): try again, or give --bot USERNAME"
        ) from None


def cmd_gallery_serve(args: argparse.Namespace) -> int:
    """Preview the site's folder on loopback until Ctrl-C."""
    from bot.site.preview import preview_server

    folder: Path | None = args.dir
    if folder is None:
        settings = settings_or_exit(args.config)
        folder = settings.gallery.path
    if not (folder / "index.html").is_file():
        print(f"{folder}: no site there yet: run selfie-bot gallery build first", file=sys.stderr)
        return EXIT_CONFIG
    try:
        server = preview_server(folder, args.port)
    except OSError as error:
        print(
            f"gallery serve: cannot listen on 127.0.0.1:{args.port} ({error.strerror})",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    port = server.server_address[1]
    print(f"Site preview: open http://127.0.0.1:{port}/ (Ctrl-C to stop; {folder})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfie-bot",
        description="Telegram bot for apprenticeship selfie campaigns.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.set_defaults(
        handler=cmd_default, port=None, data=demo_data(), config_explicit=False, verbose=False
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def config_option(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--config",
            type=Path,
            default=default_config_path(),
            help="configuration file (default: $SELFIE_BOT_CONFIG or ./config.toml)",
        )
        return sub

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return config_option(commands.add_parser(name, help=help_text, description=help_text))

    run = add("run", "Run the bot (long polling); upgrades the database first.")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=cmd_run)

    sandbox = commands.add_parser(
        "sandbox",
        help="Try the bot without Telegram: the real bot against an emulator, in the browser.",
        description="Start the Telegram emulator, a demo campaign and the real bot, and print "
        "the URL of a page (on this machine) showing the apprentice's phone, the moderators' "
        "group and the public channel.",
    )
    sandbox.add_argument(
        "--config",
        type=Path,
        default=None,
        help="campaign to try (default: ./config.toml if present, else the demo campaign); "
        "its token, chats, database and storage are replaced by the sandbox's",
    )
    sandbox.add_argument("--port", type=int, default=None, help="port of the page (default 8765)")
    sandbox.add_argument(
        "--data", type=Path, default=demo_data(), help="data folder (default ./sandbox-data)"
    )
    sandbox.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sandbox.set_defaults(handler=cmd_sandbox_args)

    check = add("check-config", "Validate a configuration file: prints ok or one line per problem.")
    check.add_argument(
        "--connect",
        action="store_true",
        help="also connect to the database and check that its version is supported",
    )
    check.set_defaults(handler=cmd_check_config)

    db = add("db", "Database migrations.")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (default: head / one step down)")
    db.set_defaults(handler=cmd_db)

    purge = add(
        "purge",
        "Apply the retention rules of [retention] now (the bot does it daily); prints what "
        "it removed, as counts. Safe while the bot runs.",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="remove nothing; print what would be removed"
    )
    purge.set_defaults(handler=cmd_purge)

    export = add(
        "export",
        "Export the consent register (every entry that is or was public) as a CSV for a "
        "spreadsheet, to stdout or to --out FILE (mode 0600).",
    )
    export.add_argument(
        "--out", type=Path, metavar="FILE", help="file to write (default: the CSV on stdout)"
    )
    export.add_argument(
        "--photos",
        action="store_true",
        help="write a ZIP instead (needs --out): the register, the consent texts and the photos "
        "still on disk",
    )
    export.set_defaults(handler=cmd_export, usage_error=export.error)

    backup = add(
        "backup",
        "Archive the database and the photos into one tar file (mode 0600; gzip when FILE "
        "ends in .gz or .tgz), consistent while the bot runs. PostgreSQL: runs pg_dump.",
    )
    backup.add_argument("--out", type=Path, metavar="FILE", required=True, help="archive")
    backup.set_defaults(handler=cmd_backup)

    restore = add(
        "restore",
        "Put a backup back on a STOPPED bot: its database and its photos; then run "
        "selfie-bot db upgrade if the backup is older.",
    )
    restore.add_argument("archive", type=Path, metavar="FILE", help="archive from backup")
    restore.add_argument(
        "--force", action="store_true", help="replace the database and photos already there"
    )
    restore.set_defaults(handler=cmd_restore)

    gallery = commands.add_parser(
        "gallery",
        help="The public site ([gallery]): rebuild it from the database, or preview it.",
        description="The campaign's public site: a static folder the bot keeps in step with "
        "the channel while it runs ([gallery] enabled).",
    )
    actions = gallery.add_subparsers(dest="action", metavar="ACTION", required=True)
    build_help = (
        "Rebuild the whole site from the database into gallery.path (or --out DIR), removing "
        "what should no longer be there; prints counts. Safe while the bot runs."
    )
    build = config_option(actions.add_parser("build", help=build_help, description=build_help))
    build.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="build a preview into DIR instead (allowed with the site disabled)",
    )
    build.add_argument(
        "--base-url",
        metavar="URL",
        help="public address of the site (default: gallery.base_url)",
    )
    build.set_defaults(handler=cmd_gallery_build)
    serve_help = "Preview the site's folder on http://127.0.0.1 (not for production)."
    serve_site = config_option(actions.add_parser("serve", help=serve_help, description=serve_help))
    serve_site.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve_site.add_argument(
        "--dir", type=Path, metavar="DIR", help="folder to serve (default: gallery.path)"
    )
    serve_site.set_defaults(handler=cmd_gallery_serve)

    posters = add(
        "posters",
        "Write the printable QR posters (A4 PDF): one per training centre of campaign.centres, "
        "whose QR code opens the bot with that centre chosen, and a general one.",
    )
    posters.add_argument(
        "--out",
        type=Path,
        default=Path("posters"),
        metavar="DIR",
        help="folder to write them in (default: ./posters)",
    )
    posters.add_argument(
        "--language",
        choices=["fr", "en"],
        default="fr",
        help="language of the posters (default fr); English files end in .en.pdf",
    )
    posters.add_argument(
        "--bot",
        metavar="USERNAME",
        help="the bot's username (default: gallery.bot_username, else asked to Telegram with the "
        "configured token)",
    )
    posters.set_defaults(handler=cmd_posters)
    return parser


def demo_data() -> Path:
    return Path("sandbox-data")


def cmd_sandbox_args(args: argparse.Namespace) -> int:
    args.config_explicit = args.config is not None
    if args.config is None:
        args.config = default_config_path()
    return cmd_sandbox(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CommandRefused:
        return EXIT_CONFIG
