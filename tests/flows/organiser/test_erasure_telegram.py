"""Erasure against Telegram as it is: messages older than 48 hours that the bot may not
delete, rights missing, answers lost. The apprentice is never told more than is true, the
photo leaves public view at once, and nothing is forgotten until it is really gone."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.i18n import t, tn
from bot.sandbox.emulator import User
from bot.telegram.catchup import catch_up_with_telegram
from models import ShownPhoto, Submission, SubmissionStatus
from tests.support.erasure import erase, removals, requests
from tests.support.moderation import submit_one
from tests.support.publishing import (
    QUIET,
    add_entries,
    approve_on_card,
    card_of,
    cards_for_pending,
    channel_posts,
    entry_values,
    rows,
    search_fails,
    started_apprentice,
    tick,
    unpublish_on_card,
    upload_photo,
)
from tests.support.stand import Stand, answer_of, buttons, running_stand

S = SubmissionStatus
NO_DELETE = {"can_delete_messages": False}


async def published_entry(stand: Stand, user: User) -> tuple[Submission, dict[str, Any]]:
    """An entry of ``user`` approved on its card and posted; the entry and its post."""
    photo = await upload_photo(stand.emu)
    [entry_id] = await add_entries(
        stand, [entry_values(user.id, 1, photo_file_id=photo)], status=S.PENDING
    )
    await cards_for_pending(stand)
    await approve_on_card(stand, entry_id)
    assert await tick(stand) == [entry_id]
    [post] = channel_posts(stand)
    return (await rows(stand))[entry_id], post


def current(stand: Stand, message: dict[str, Any]) -> dict[str, Any] | None:
    """The message as its chat shows it now (None once deleted)."""
    chat = message["chat"]["id"]
    found = [m for m in stand.emu.messages(chat) if m["message_id"] == message["message_id"]]
    return found[0] if found else None


async def test_old_post_and_card_are_hidden_at_once_and_asked_for_by_hand(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, channel_rights=NO_DELETE, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        lea = started_apprentice(emu, "Léa")
        entry, post = await published_entry(stand, lea)
        card = card_of(stand, entry)
        emu.travel(hours=49)  # Telegram no longer lets the bot delete either message

        told = await erase(stand, lea)
        assert told == tn("fr", "erase.done_messages_pending", 1)
        assert told != tn("fr", "erase.done", 1)
        # The rows are gone; the messages stay, but nothing personal shows any more.
        assert await rows(stand) == {}
        shown_post, shown_card = current(stand, post), current(stand, card)
        assert shown_post is not None and shown_card is not None
        assert shown_post["caption"] == t("fr", "removed.post_caption")
        assert shown_card["caption"] == html.unescape(
            t("fr", "removed.card_caption", number=entry.id)
        )
        for before, after in ((post, shown_post), (card, shown_card)):
            assert after["photo"][-1]["file_unique_id"] != before["photo"][-1]["file_unique_id"]
            assert "reply_markup" not in after  # no "offers" or moderation buttons left
        # The moderators are asked, with a direct link, to delete each by hand.
        card_request, post_request = requests(stand)
        assert f"https://t.me/fiers_test/{post['message_id']}" in post_request["text"]
        group_link = f"https://t.me/c/{str(stand.group.id)[4:]}/{card['message_id']}"
        assert group_link in card_request["text"]
        owed = await removals(stand)
        assert [(r.kind, r.photo_hidden, r.by_hand) for r in owed] == [
            ("card", True, True),
            ("post", True, True),
        ]
        for removal in owed:  # where and why, nothing about the person
            assert "Léa" not in repr(vars(removal)) and "Apprenti" not in repr(vars(removal))

        # "Done" before deleting: the bot checks, and the post is still there.
        [post_done] = [d for d in buttons(post_request).values()]
        query = await stand.press(camille, post_request, post_done)
        answer = await answer_of(stand, query)
        assert answer["text"] == t("fr", "removal.check.still_there")
        assert len(await removals(stand)) == 2
        # Deleted by hand (an administrator can, at any age), then "done": settled.
        emu.delete_message(shown_post)
        query = await stand.press(camille, post_request, post_done)
        assert (await answer_of(stand, query))["text"] == t("fr", "removal.check.gone")
        assert [r.kind for r in await removals(stand)] == ["card"]
        closed = current(stand, post_request)
        assert closed is not None and "reply_markup" not in closed

        # The operator grants the right to delete in the group: the job finishes alone.
        emu.set_bot_status(stand.group, "administrator", can_delete_messages=True)
        await catch_up_with_telegram(stand.app.bot, stand.app.services)
        assert current(stand, card) is None
        assert await removals(stand) == []


async def test_unconfirmed_post_of_an_erased_entry_is_asked_for_with_its_time(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        lea = started_apprentice(emu, "Léa")
        photo = await upload_photo(emu)
        [entry_id] = await add_entries(stand, [entry_values(lea.id, 1, photo_file_id=photo)])
        emu.inject_fault("sendPhoto", "timeout", delivered=True, hold=0.2)
        search_fails(stand)
        assert await tick(stand) == []
        assert (await rows(stand))[entry_id].status == S.NEEDS_CHECK
        emu.clear_faults()

        told = await erase(stand, lea)
        assert told == tn("fr", "erase.done_messages_pending", 1)
        [request] = requests(stand)
        assert f"n°{entry_id}" in request["text"] and "peut-être été publiée" in request["text"]
        [owed] = await removals(stand)
        assert (owed.kind, owed.message_id, owed.by_hand) == ("post", None, True)
        # The moderator finds the post and deletes it; a lost id is taken on trust.
        [post] = channel_posts(stand)
        emu.delete_message(post)
        query = await stand.press(camille, request, f"rm:done:{owed.id}")
        assert (await answer_of(stand, query))["text"] == t("fr", "removal.check.gone")
        assert await removals(stand) == []
        # A forged number no row can have (beyond PostgreSQL's integer): nothing owed.
        forged = await emu.press_button(camille, request, "rm:done:999999999999", forged=True)
        assert (await answer_of(stand, forged))["text"] == t("fr", "removal.check.already")


async def test_a_delete_telegram_does_not_answer_is_retried_not_reported_done(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        lea = started_apprentice(emu, "Léa")
        _, post = await published_entry(stand, lea)
        emu.inject_fault("deleteMessage", "502", count=2)  # the post's and the card's
        assert await erase(stand, lea) == tn("fr", "erase.done_messages_pending", 1)
        assert current(stand, post) is not None
        assert len(await removals(stand)) == 2
        assert requests(stand) == []  # a passing failure: retried, nobody disturbed yet
        await catch_up_with_telegram(stand.app.bot, stand.app.services)
        assert current(stand, post) is None
        assert await removals(stand) == []


async def test_unpublish_says_what_telegram_really_did(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, channel_rights=NO_DELETE, schedule=QUIET) as stand:
        emu = stand.emu
        lea = started_apprentice(emu, "Léa")
        entry, post = await published_entry(stand, lea)
        emu.travel(hours=49)
        query = await unpublish_on_card(stand, card_of(stand, entry), entry.id)
        answer = await answer_of(stand, query)
        assert answer["text"] == t("fr", "publishing.unpublished.hidden")
        assert answer["text"] != t("fr", "publishing.unpublished.gone")
        shown = current(stand, post)
        assert shown is not None and shown["caption"] == t("fr", "removed.post_caption")
        [request] = requests(stand)
        assert f"https://t.me/fiers_test/{post['message_id']}" in request["text"]
        await stand.reply(lea, t("fr", "published.removed"))
        entry_now = (await rows(stand))[entry.id]
        assert (entry_now.status, entry_now.refusal_reason) == (S.REFUSED, "unpublished")


def photos_shown(stand: Stand, user: User) -> list[dict[str, Any]]:
    """The bot's messages in the apprentice's chat that show a photo, still there."""
    return [m for m in stand.emu.bot_messages(user) if "photo" in m]


async def test_the_photos_the_bot_showed_go_while_telegram_allows_and_the_rest_is_said(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        lea = emu.create_user("Léa")
        await submit_one(stand, lea)  # the preview shows her photo
        await emu.send_text(lea, "/mesdonnees")
        await stand.reply(lea, lambda message: "photo" in message)  # and her data again
        assert len(photos_shown(stand, lea)) == 2
        own = [m for m in emu.messages(lea) if "photo" in m and m not in emu.bot_messages(lea)]
        told = await erase(stand, lea)
        # Both were sent minutes ago: gone, and nothing more to say.
        assert told == tn("fr", "erase.done", 1)
        assert photos_shown(stand, lea) == []
        # What she sent herself is hers: left as it is.
        assert [m for m in emu.messages(lea) if "photo" in m] == own

        tom = emu.create_user("Tom")
        await submit_one(stand, tom)
        emu.travel(hours=49)  # Telegram no longer lets the bot delete the preview
        await emu.send_text(tom, "/mesdonnees")
        await stand.reply(tom, lambda message: "photo" in message)
        [preview, listed] = photos_shown(stand, tom)
        told = await erase(stand, tom)
        assert told == "\n\n".join([tn("fr", "erase.done", 1), tn("fr", "erase.photos_left", 1)])
        # The recent one went; the old one stays, and Tom was told he can delete it himself.
        assert photos_shown(stand, tom) == [preview]
        deletes = [c for c in emu.calls_for("deleteMessage") if str(c["chat_id"]) == str(tom.id)]
        assert [int(c["message_id"]) for c in deletes] == [listed["message_id"]]
        async with stand.app.services.sessions() as session:
            assert list(await session.scalars(select(ShownPhoto))) == []
