"""The command menus, per audience: one table that handlers and ``setMyCommands`` share."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.config import Settings
from bot.i18n import LANGUAGES, plain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    """A command with its name in each language (both names work in every language)."""

    names: dict[str, str]
    description_key: str

    @property
    def all_names(self) -> list[str]:
        return sorted(set(self.names.values()))


START = Command({"fr": "start", "en": "start"}, "command.start")
STATUS = Command({"fr": "statut", "en": "status"}, "command.status")
MY_DATA = Command({"fr": "mesdonnees", "en": "mydata"}, "command.my_data")
DELETE = Command({"fr": "supprimer", "en": "delete"}, "command.delete")
CANCEL = Command({"fr": "annuler", "en": "cancel"}, "command.cancel")
LANGUAGE = Command({"fr": "langue", "en": "language"}, "command.language")
HELP = Command({"fr": "aide", "en": "help"}, "command.help")
MODERATION_HELP = Command({"fr": "aide", "en": "help"}, "command.moderation_help")
QUEUE = Command({"fr": "queue", "en": "queue"}, "command.queue")
STATS = Command({"fr": "stats", "en": "stats"}, "command.stats")
BAN = Command({"fr": "ban", "en": "ban"}, "command.ban")
UNBAN = Command({"fr": "unban", "en": "unban"}, "command.unban")
PUBLISH_NOW = Command({"fr": "publish_now", "en": "publish_now"}, "command.publish_now")
PAUSE = Command({"fr": "pause", "en": "pause"}, "command.pause")
RESUME = Command({"fr": "resume", "en": "resume"}, "command.resume")

PRIVATE_COMMANDS = (START, STATUS, MY_DATA, DELETE, CANCEL, LANGUAGE, HELP)
MODERATION_COMMANDS = (
    QUEUE,
    STATS,
    PUBLISH_NOW,
    PAUSE,
    RESUME,
    BAN,
    UNBAN,
    MODERATION_HELP,
)


def _menu(commands: tuple[Command, ...], language: str) -> list[BotCommand]:
    return [BotCommand(c.names[language], plain(language, c.description_key)) for c in commands]


async def register_commands(bot: Bot, settings: Settings) -> None:
    """Command menus per scope and language; the menu without language is the French one."""
    scopes = [
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeChat(settings.moderation.chat_id), MODERATION_COMMANDS),
    ]
    for scope, commands in scopes:
        try:
            for language in LANGUAGES:
                await bot.set_my_commands(_menu(commands, language), scope, language)
            await bot.set_my_commands(_menu(commands, "fr"), scope)
        except TelegramError as error:
            log.warning("could not set the command menu for %s: %s", scope.type, error)
