"""The start-up check of the channel and the moderation group: every administrator right
the bot lacks, each said in one sentence with what it breaks."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, ChatMember
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.config import Settings


@dataclass(frozen=True)
class ChatNeeds:
    """What one chat must grant the bot, and the sentences that say what is missing."""

    name: str
    """How the sentences name the chat: "the channel @x", "the moderation group -100…"."""
    rights: dict[str, tuple[str, str]]
    """Administrator right → (its label in Telegram, what breaks without it)."""
    unreachable: str
    not_in: str
    plain_member: str | None
    """When a plain member is not enough (None: any member status other than owner or
    administrator is already ``not_in``)."""


def channel_needs(channel: str | int) -> ChatNeeds:
    return ChatNeeds(
        name=f"the channel {channel}",
        rights={
            "can_post_messages": ("Post messages", "nothing can be published"),
            "can_edit_messages": (
                "Edit messages of others",
                "a post that cannot be deleted may not get its photo replaced on erasure",
            ),
            "can_delete_messages": (
                "Delete messages of others",
                "posts older than 48 hours cannot be deleted when an apprentice erases their entry",
            ),
        },
        unreachable="check campaign.channel and add the bot to the channel as an administrator",
        not_in=(
            f"the bot is not an administrator of the channel {channel}: add it as an "
            "administrator allowed to post, edit and delete messages"
        ),
        plain_member=None,
    )


def group_needs(group: int) -> ChatNeeds:
    return ChatNeeds(
        name=f"the moderation group {group}",
        rights={
            "can_delete_messages": (
                "Delete messages",
                "cards older than 48 hours cannot be deleted when an apprentice erases their entry",
            ),
        },
        unreachable="check moderation.chat_id and add the bot to the group",
        not_in=(
            f"the bot is not a member of the moderation group {group}: add it to the "
            "group as an administrator allowed to delete messages"
        ),
        plain_member=(
            f"the bot is a plain member of the moderation group {group}: cards older "
            "than 48 hours cannot be deleted when an apprentice erases their entry, "
            "and forwarded posts are not seen; make it an administrator allowed to "
            "delete messages"
        ),
    )


def _missing_rights(member: ChatMember, needs: ChatNeeds) -> list[str]:
    if member.status == ChatMemberStatus.OWNER:
        return []
    return [
        f"the bot lacks the '{label}' right in {needs.name}: {consequence}; grant it "
        "(README, Setting up Telegram)"
        for right, (label, consequence) in needs.rights.items()
        if not getattr(member, right, False)
    ]


async def chat_problems(bot: Bot, chat: str | int, needs: ChatNeeds) -> list[str]:
    try:
        await bot.get_chat(chat)
        member = await bot.get_chat_member(chat, bot.id)
    except TelegramError as error:
        return [f"{needs.name} cannot be reached ({error}): {needs.unreachable}"]
    admin = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
    if member.status in admin:
        return _missing_rights(member, needs)
    if needs.plain_member and member.status not in {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}:
        return [needs.plain_member]
    return [needs.not_in]


async def check_chats(bot: Bot, settings: Settings) -> list[str]:
    """Problems with the channel and the moderation group, each one a clear sentence: one
    per missing administrator right, with what it breaks."""
    channel, group = settings.campaign.channel, settings.moderation.chat_id
    return [
        *await chat_problems(bot, channel, channel_needs(channel)),
        *await chat_problems(bot, group, group_needs(group)),
    ]
