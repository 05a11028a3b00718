"""Run the emulator standalone: ``python -m bot.sandbox --port 8081 --token 123:abc``.

Point the bot at it with ``telegram.api_url = "http://127.0.0.1:8081"``. Users, groups and
channels are then created through the driver (the browser mode will do that); alone, the
server answers the bot's own calls (getMe, getUpdates...).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from .emulator.driver import Emulator

log = logging.getLogger(__name__)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8081,
    token: str = "123456:SANDBOX-token",
    bot_username: str = "selfie_sandbox_bot",
    flood_limits: bool = True,
    spec_path: str | None = None,
) -> None:
    """Run an emulator until cancelled (the product CLI calls this)."""
    emu = Emulator(
        token=token, bot_username=bot_username, flood_limits=flood_limits, spec_path=spec_path
    )
    await emu.start(host=host, port=port)
    log.info("Telegram Bot API sandbox on %s (token %s)", emu.api_url, token)
    print(f"sandbox listening: telegram.api_url = {emu.api_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Telegram Bot API emulator (sandbox)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:SANDBOX-token")
    parser.add_argument("--bot-username", default="selfie_sandbox_bot")
    parser.add_argument("--no-flood-limits", action="store_true")
    parser.add_argument("--spec", help="path to api.min.json (default: searched, see spec.py)")
    args = parser.parse_args(argv)
    if args.spec and not Path(args.spec).is_file():
        parser.error(f"--spec: no such file: {args.spec}")
    logging.basicConfig(level=logging.INFO)
    try:
        asyncio.run(
            serve(
                args.host,
                args.port,
                args.token,
                args.bot_username,
                not args.no_flood_limits,
                args.spec,
            )
        )
    except KeyboardInterrupt:
        pass
