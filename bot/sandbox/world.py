"""The sandbox's people and chats around the bot (moderators, a bystander, an apprentice,
the group and the channel), shared by the demo server and its page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .emulator.driver import Emulator
from .emulator.state import Chat, User
from .samples import Sample, write_samples


@dataclass
class DemoWorld:
    """The people and chats around the bot, and the hooks the page needs."""

    emu: Emulator
    group: Chat
    channel: Chat
    moderators: list[User]
    bystander: User
    apprentices: list[User]
    samples: list[Sample]
    samples_dir: Path
    #: Set (from the bot's thread) once the bot has started: its Application and loop.
    bot_app: Any = None
    bot_loop: asyncio.AbstractEventLoop | None = None
    #: Set by the page's actions so the live view refreshes at once.
    listeners: list[asyncio.Event] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.bot_app is not None and self.bot_loop is not None

    def changed(self) -> None:
        for event in self.listeners:
            event.set()

    async def in_bot_loop(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine in the bot's event loop and wait for its result."""
        if self.bot_loop is None:
            raise RuntimeError("the bot is not started yet")
        future = asyncio.run_coroutine_threadsafe(make(), self.bot_loop)
        return await asyncio.wrap_future(future)

    async def run_slot(self) -> dict[str, Any]:
        """The next publication slot, now: ``Publisher(services).run_slot(bot)``."""
        from bot.telegram.publisher import Publisher

        app = self.bot_app

        async def slot() -> dict[str, Any]:
            publisher = Publisher(app.services)
            published = await publisher.run_slot(app.bot)
            return {"published": published, "paused": await publisher.paused()}

        result = await self.in_bot_loop(slot)
        self.changed()
        return result


def create_world(emu: Emulator, channel: str, samples_dir: Path) -> DemoWorld:
    camille = emu.create_user("Camille", username="camille_modo", language_code="fr")
    sam = emu.create_user("Sam", username="sam_modo", language_code="fr")
    dominique = emu.create_user("Dominique", language_code="fr")
    group = emu.create_group(
        "Modération — Fiers d'être apprentis", [camille, sam, dominique], bot_status="administrator"
    )
    public = emu.create_channel("Fiers d'être apprentis", username=channel)
    lea = emu.create_user("Léa", username="lea_apprentie", language_code="fr")
    return DemoWorld(
        emu=emu,
        group=group,
        channel=public,
        moderators=[camille, sam],
        bystander=dominique,
        apprentices=[lea],
        samples=write_samples(samples_dir),
        samples_dir=samples_dir,
    )
