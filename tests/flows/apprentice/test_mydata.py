"""/mesdonnees (/mydata): an apprentice's own data, through the real bot and the emulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bot.i18n import local_moment, plain, t, tn
from bot.sandbox.emulator import User
from handlers.mydata import MESSAGE_LIMIT, pack
from models import Apprentice, Submission, SubmissionStatus
from models.base import utcnow
from tests.support import imagegen
from tests.support.moderation import submit_one
from tests.support.publishing import QUIET, add_entries, entry_values, started_apprentice
from tests.support.stand import Stand, buttons, has_button, running_stand, walk_to_photo

S = SubmissionStatus


def photos_sent_to(stand: Stand, user: User) -> list[Any]:
    """The ``photo`` of every photo the bot sent to ``user`` (a file_id or an upload)."""
    return [
        call["photo"]
        for call in stand.emu.calls_for("sendPhoto")
        if str(call["chat_id"]) == str(user.id)
    ]


def captions_sent_to(stand: Stand, user: User) -> list[str]:
    return [
        str(call.get("caption", ""))
        for call in stand.emu.calls_for("sendPhoto")
        if str(call["chat_id"]) == str(user.id)
    ]


async def listing(stand: Stand, user: User, command: str = "/mesdonnees") -> list[str]:
    """The texts the bot answers ``command`` with: every message up to the last one
    (the one naming the photos that follow, or the only one)."""
    await stand.emu.send_text(user, command)
    texts = [(await stand.reply(user))["text"]]
    while not any(marker in texts[-1] for marker in ("📸", "🙂")) and len(texts) < 50:
        try:
            texts.append((await stand.reply(user, timeout=2))["text"])
        except TimeoutError:
            break
    return texts


async def wait_photos(stand: Stand, user: User, count: int) -> list[Any]:
    for _ in range(count):
        await stand.reply(user, lambda message: "photo" in message)
    return photos_sent_to(stand, user)


def when(stand: Stand, moment: Any, lang: str = "fr") -> str:
    return local_moment(lang, moment, stand.settings.schedule.timezone)


async def test_an_apprentice_gets_all_they_sent_and_what_became_of_it(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        lea = emu.create_user("Léa", username="lea_coiffe", language_code="fr")
        await submit_one(stand, lea)
        await submit_one(stand, lea, trade="trade:0:1")
        published, refused = sorted(entry.id for entry in await stand.stored())
        now = utcnow()
        async with stand.app.services.sessions() as session, session.begin():
            await session.execute(
                update(Submission)
                .where(Submission.id == published)
                .values(status=S.PUBLISHED, decided_at=now, approved_at=now, published_at=now)
            )
            await session.execute(
                update(Submission)
                .where(Submission.id == refused)
                .values(status=S.REFUSED, decided_at=now, refusal_reason="blurry")
            )
        # A third one in progress, waiting at the preview.
        await walk_to_photo(stand, lea, quote="Le pain, c'est ma vie")
        await emu.send_photo(lea, imagegen.photo_jpeg(1024, 768, seed=5))
        preview = await stand.reply(lea, has_button("preview:"))
        before = len(photos_sent_to(stand, lea))

        [text] = await listing(stand, lea)
        rows = {entry.id: entry for entry in await stand.stored()}
        [draft] = [entry for entry in rows.values() if entry.status == S.DRAFT]
        assert text.startswith("Tes données")
        assert "Prénom (Telegram) : Léa" in text and "@lea_coiffe" in text
        assert "Langue : français" in text
        assert "Participation en cours" in text and "Le pain, c'est ma vie" in text
        in_progress = text[
            text.index("Participation en cours") : text.index("Tes 2 participations")
        ]
        assert "Métier : Coiffeur·se" in in_progress and "Nom affiché : Léa" in in_progress
        assert "Âge : 18 ans ou plus" in in_progress and "CFA de Dijon" in in_progress
        assert "Tes 2 participations" in text
        # Newest first, statuses in /statut's words.
        refused_at = text.index(f"n°{refused} : {plain('fr', 'status.refused')}")
        published_at = text.index(f"n°{published} : {plain('fr', 'status.published')}")
        assert text.index("Participation en cours") < refused_at < published_at
        assert "Raison du refus : photo floue" in text
        assert "Coiffeur·se" in text and "Esthéticien·ne" in text and "CFA de Dijon" in text
        assert text.count("Nom affiché : Léa") == 3
        for entry in rows.values():
            assert entry.consent_version and entry.consent_version not in text  # no jargon
            assert f"Ton accord : donné le {when(stand, entry.consent_at)}" in text
        assert f"Publiée le {when(stand, now)}" in text
        assert tn("fr", "mydata.photos", 3) in text

        photos = (await wait_photos(stand, lea, 3))[before:]
        assert photos == [
            draft.photo_file_id,
            rows[refused].photo_file_id,
            rows[published].photo_file_id,
        ]
        assert captions_sent_to(stand, lea)[before:] == [
            "Participation en cours",
            f"n°{refused}",
            f"n°{published}",
        ]

        # The text she agreed to, read again: one version, one button, dated.
        [with_buttons] = [m for m in emu.bot_messages(lea) if has_button("ctext:")(m)]
        first = min(entry.consent_at for entry in rows.values())
        assert buttons(with_buttons) == {
            f"📄 Le texte que tu as accepté le {when(stand, first)}": (
                f"ctext:{draft.consent_version}"
            )
        }
        await stand.press(lea, with_buttons, f"ctext:{draft.consent_version}")
        agreed = await stand.reply(lea, "Le texte que tu as accepté")
        assert "/supprimer" in agreed["text"] and "chaîne publique" in agreed["text"]

        # The entry in progress goes on where it was.
        await stand.press(lea, preview, "preview:send")
        await stand.reply(lea, "envoy")
        assert (await stand.stored())[-1].status == S.PENDING


async def test_english_nothing_held_and_a_stored_file(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        ed = emu.create_user("Ed", language_code="en-GB")
        assert await listing(stand, ed, "/mydata") == [t("en", "mydata.none")]
        nobody = emu.create_user("Personne")
        assert await listing(stand, nobody) == [t("fr", "mydata.none")]

        jpeg = imagegen.photo_jpeg(640, 800, seed=3)
        path = stand.app.services.photos.save(jpeg)
        consent = utcnow() - timedelta(days=2)
        [entry_id] = await add_entries(
            stand,
            [entry_values(ed.id, 1, photo_path=path, consent_at=consent, quote="Wood rocks")],
            status=S.PENDING,
        )
        [text] = await listing(stand, ed, "/mesdonnees")
        assert text.startswith("Your data")
        assert f"No. {entry_id}: {plain('en', 'status.pending')}" in text
        assert "Trade: Coiffeur·se" in text and "Quote: “Wood rocks”" in text
        # No version recorded: the consent line says nothing about one.
        assert f"Your agreement: given on {when(stand, consent, 'en')}\n" in text
        assert "version" not in text
        [photo] = await wait_photos(stand, ed, 1)
        assert photo.data == jpeg  # the stored JPEG, as it is on disk
        assert captions_sent_to(stand, ed) == [f"No. {entry_id}"]


async def test_a_banned_apprentice_still_gets_their_data(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        spam = started_apprentice(emu, "Spam")
        [entry_id] = await add_entries(stand, [entry_values(spam.id, 7)], status=S.PENDING)
        await emu.send_text(camille, f"/ban {spam.id}", chat=stand.group)
        await emu.wait_for(stand.group, tn("fr", "mod.banned_user", 1, user=spam.id))
        assert spam.id in stand.app.services.banned

        [text] = await listing(stand, spam)
        assert f"n°{entry_id} : {plain('fr', 'status.refused')}" in text
        assert "Apprenti 07" in text and "Coiffeur·se" in text
        assert "bann" not in text.lower()
        await emu.send_text(spam, "/start")
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")


async def test_html_in_the_data_arrives_as_text(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        mia = emu.create_user("Mia")
        async with stand.app.services.sessions() as session, session.begin():
            session.add(Apprentice(id=mia.id, first_name="<b>x</b>", username="mia_b"))
        await add_entries(
            stand,
            [entry_values(mia.id, 1, display_name="<i>Zoé</i>", quote="a < b & c")],
            status=S.PENDING,
        )
        [text] = await listing(stand, mia)
        message = emu.bot_messages(mia)[-1]
        assert "Prénom (Telegram) : <b>x</b>" in text
        assert "Nom affiché : <i>Zoé</i>" in text and "« a < b & c »" in text
        covered = [
            text[e["offset"] : e["offset"] + e["length"]] for e in message.get("entities", [])
        ]
        assert "x" not in covered and "Zoé" not in covered


async def test_a_purged_entry_says_so_and_sends_no_photo(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        noe = started_apprentice(emu, "Noé")
        purged = utcnow() - timedelta(days=1)
        [entry_id] = await add_entries(
            stand,
            [
                entry_values(
                    noe.id,
                    1,
                    display_name=None,
                    quote=None,
                    photo_path=None,
                    photo_file_id=None,
                    refusal_reason="blurry",
                    decided_at=purged - timedelta(days=30),
                    purged_at=purged,
                )
            ],
            status=S.REFUSED,
        )
        [text] = await listing(stand, noe)
        assert f"n°{entry_id} : {plain('fr', 'status.refused')}" in text
        assert t("fr", "mydata.purged", when=when(stand, purged)) in text
        assert "Nom affiché" not in text  # erased with the rest, not "anonymous"
        assert "📸" not in text
        await emu.send_text(noe, "/statut")
        await stand.reply(noe, "Tes participations")
        assert photos_sent_to(stand, noe) == []


async def test_a_long_listing_is_split_under_the_limit(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        max_ = started_apprentice(emu, "Max")
        quote = "Mon métier, c’est « ma » passion & ma fierté ! " * 4
        entries = [
            entry_values(
                max_.id,
                number,
                display_name=f"Max <{number}>",
                trade="Technicien·ne de maintenance des systèmes énergétiques",
                centre_name="Centre de formation d'apprentis de l'industrie de Bourgogne " * 2,
                quote=quote[:200],
            )
            for number in range(40)
        ]
        ids = await add_entries(stand, entries, status=S.PENDING)
        texts = await listing(stand, max_)
        assert len(texts) > 2
        sent = [m["text"] for m in emu.bot_messages(max_)]
        assert sent == texts
        assert all(len(text) <= MESSAGE_LIMIT for text in texts)
        whole = "\n".join(texts)
        positions = [whole.index(f"n°{entry_id} : ") for entry_id in ids]
        assert positions == sorted(positions, reverse=True)  # newest first
        assert all(whole.count(f"Max <{number}>") == 1 for number in range(40))


def test_pack_keeps_blocks_whole_and_cuts_only_what_cannot_fit() -> None:
    assert pack(["a", "b"], limit=10) == ["a\n\nb"]
    assert pack(["aaaa", "bbbb"], limit=8) == ["aaaa", "bbbb"]
    assert pack(["x" * 5 + "\n" + "y" * 5, "z"], limit=8) == ["xxxxx", "yyyyy\n\nz"]
