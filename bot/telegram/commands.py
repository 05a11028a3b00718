"""The command menus, per audience: one table that handlers and ``setMyCommands`` share."""

from __future__ import annotations

from dataclasses import dataclass


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
