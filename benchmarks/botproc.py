"""A bot in its own process, as in production: the real Application, or a baseline bot.

``python -m benchmarks.botproc CONFIG KIND [--no-limiter | --no-group-limit] [--serial]
[--log-level LEVEL]``; KIND is
``selfie`` (``bot.app.build_application``), ``echo`` (a bare PTB bot answering every text
and button) or ``bare`` (a bare PTB Application with no handlers). Prints ``ready`` when
polling, then answers each ``stats`` line on stdin with one JSON line (RSS, peak RSS, CPU
seconds) and stops on ``quit``. The driver and the emulator stay in the parent process, so
their CPU and memory are not the bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from benchmarks.common import cpu_seconds, proc_status


def _patch_builder(no_limiter: bool, serial: bool) -> None:
    """Make ``build_application`` build without the rate limiter / one update at a time.

    The benchmark measures the bot's own capacity: Telegram's 30 msg/s pace that
    ``flood_safe_limiter`` enforces on purpose in production would otherwise be the figure.
    """
    import bot.app

    class BenchBuilder(ApplicationBuilder):  # type: ignore[type-arg]
        def concurrent_updates(self, concurrent_updates: Any) -> Any:
            return self if serial else super().concurrent_updates(concurrent_updates)

        def rate_limiter(self, rate_limiter: Any) -> Any:
            return self if no_limiter else super().rate_limiter(rate_limiter)

    bot.app.ApplicationBuilder = BenchBuilder  # type: ignore[misc]


def _lift_group_pace() -> None:
    """Keep the limiter's overall pace and its retries after a 429, drop its per-group pace.

    For the chaos run (:mod:`benchmarks.chaos`): 200 cards at Telegram's 20 messages a
    minute into the moderators' group would take ten minutes; the emulator's per-group
    limit is lifted to match. Everything else is the production limiter: the steady 28
    messages a second and the ``retry_after`` waits (``group_max_rate=0`` disables only
    the per-group buckets).
    """
    import bot.app

    def without_group_pace() -> AIORateLimiter:
        return AIORateLimiter(
            overall_max_rate=1, overall_time_period=1 / 28, group_max_rate=0, max_retries=3
        )

    bot.app.flood_safe_limiter = without_group_pace


def _configure_logging(level: str) -> None:
    """The bot's log on stderr; httpx's request lines (they carry the token) stay quiet."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    for name in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


async def _echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text)


async def _echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query and query.message
    await query.answer()
    await context.bot.send_message(query.message.chat.id, query.data or "?")


def _baseline(kind: str, raw: dict[str, Any]) -> Application:  # type: ignore[type-arg]
    api_url = raw["telegram"]["api_url"]
    builder = (
        ApplicationBuilder()
        .token(raw["telegram"]["token"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
    )
    app = builder.build()  # PTB's default: one update at a time
    if kind == "echo":
        app.add_handler(MessageHandler(filters.TEXT, _echo_text))
        app.add_handler(CallbackQueryHandler(_echo_button))
    return app


async def main(
    config: str, kind: str, no_limiter: bool, serial: bool, no_group_limit: bool = False
) -> None:
    import tomllib

    path = Path(config)
    raw = tomllib.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    if kind == "selfie":
        _patch_builder(no_limiter, serial)
        if no_group_limit:
            _lift_group_pace()
        from bot.app import build_application
        from bot.config import settings_from_dict

        app: Application = build_application(settings_from_dict(raw, base_dir=path.parent))  # type: ignore[type-arg]
    else:
        app = _baseline(kind, raw)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)
    await app.start()
    print("ready", flush=True)
    try:
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line == "stats":
                print(json.dumps({**proc_status(), "cpu": cpu_seconds()}), flush=True)
            elif line in ("quit", ""):
                break
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("kind", choices=["selfie", "echo", "bare"])
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--no-group-limit", action="store_true")
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args()
    _configure_logging(args.log_level)
    asyncio.run(main(args.config, args.kind, args.no_limiter, args.serial, args.no_group_limit))
