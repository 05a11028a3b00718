"""The apprentice's conversation, from ``/start`` to a submitted selfie.

The states and their transitions are assembled in one place, :func:`build_conversation`
at the bottom; each step has a small ``ask_*`` function that asks its question (in place
of the previous one when a button answered it, see ``handlers.common.reply``) and
returns the state to wait in. Answers are kept in ``user_data["entry"]`` (persisted in the
database, so a restart resumes at the same step). Nothing is written to the submissions
table before the photo: refusing consent stores nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.campaign.captions import entry_caption
from bot.campaign.consent import consent_details, consent_pitch, consent_version
from bot.campaign.drafts import Sender, detail_fields, keep_photo
from bot.campaign.matching import match_typed, trade_name
from bot.i18n import plain, t, tn
from bot.ops.retention import campaign_over
from bot.photos.pipeline import ImageOptions
from bot.photos.refusals import ImageRejected, TooManyPixels
from bot.telegram import callbacks
from bot.telegram.callbacks import keyboard
from bot.telegram.cards import post_card
from bot.telegram.commands import CANCEL, DELETE, START
from bot.telegram.concurrency import slot_released
from bot.telegram.uploads import PhotoProblem, photo_to_download
from handlers.coach import audit_agreement, blur_bystanders, record_agreement, show_coach
from handlers.common import (
    Context,
    answers,
    forget_answers,
    language,
    pressed,
    reply,
    services,
)
from handlers.erasure import ask_erasure
from models import AgeBand
from models.apprentices import note_shown_photo
from models.base import utcnow
from models.lifecycle import submit
from models.submissions import (
    count_pending,
    delete_draft,
    get_draft,
    set_photo_file_id,
)

log = logging.getLogger(__name__)

CONSENT, AGE, GUARDIAN, NAME, NAME_TYPED, TRADE, CENTRE, QUOTE, PHOTO, PREVIEW, EDIT = (
    "consent",
    "age",
    "guardian",
    "name",
    "name_typed",
    "trade",
    "centre",
    "quote",
    "photo",
    "preview",
    "edit",
)
END = ConversationHandler.END

NAME_LENGTH = (2, 40)
TRADE_LENGTH = (2, 60)
CENTRE_LENGTH = (2, 120)
QUOTE_MAX = 200


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def _typed(update: Update, context: Context, length: tuple[int, int], key: str) -> str | None:
    """The typed answer on one line, or None after saying it is too short or too long."""
    assert update.effective_message and update.effective_message.text
    typed = _one_line(update.effective_message.text)
    if length[0] <= len(typed) <= length[1]:
        return typed
    await reply(update, context, t(language(update, context), key, max=length[1]))
    return None


# --- /start and consent -------------------------------------------------------------------


async def start(update: Update, context: Context) -> str | int:
    assert update.effective_user
    settings = services(context).settings
    lang = language(update, context)
    if campaign_over(settings, utcnow()):
        await discard_draft(context, answers(context))
        forget_answers(context)
        await reply(update, context, t(lang, "campaign.closed", campaign=settings.campaign.name))
        return END
    async with services(context).sessions() as session:
        pending = await count_pending(session, update.effective_user.id)
    if pending >= settings.apprentices.max_pending:
        await reply(update, context, tn(lang, "start.too_many_pending", pending))
        return END
    # Asked first: if Telegram fails here, the entry being built is left as it was.
    state = await ask_consent(update, context)
    await discard_draft(context, answers(context))
    entry = answers(context, reset=True)
    code = context.args[0] if context.args else None
    centre = next((c for c in settings.campaign.centres if c.code == code), None)
    if centre is not None:
        entry.update(centre_code=centre.code, centre_name=centre.name, centre_from_link=True)
    return state


async def ask_consent(update: Update, context: Context) -> str:
    lang = language(update, context)
    await reply(
        update,
        context,
        consent_pitch(lang, services(context).settings),
        keyboard(
            [
                [(plain(lang, "consent.accept"), callbacks.CONSENT.data("yes"))],
                [
                    (plain(lang, "consent.more"), callbacks.CONSENT.data("more")),
                    (plain(lang, "consent.no"), callbacks.CONSENT.data("no")),
                ],
            ]
        ),
    )
    return CONSENT


async def on_consent(update: Update, context: Context) -> str | int:
    choice = await pressed(update, context)
    lang = language(update, context)
    if choice == callbacks.CONSENT.data("more"):
        await reply(update, context, consent_details(lang, services(context).settings))
        return await ask_consent(update, context)
    if choice == callbacks.CONSENT.data("no"):
        forget_answers(context)
        await reply(update, context, t(lang, "consent.declined"))
        return END
    version = consent_version(lang, services(context).settings)
    answers(context).update(consent_at=utcnow().isoformat(), consent_version=version)
    return await ask_age(update, context)


async def ask_age(update: Update, context: Context) -> str:
    lang = language(update, context)
    await reply(
        update,
        context,
        t(lang, "age.question"),
        keyboard(
            [
                [
                    (plain(lang, "age.adult"), callbacks.AGE.data("adult")),
                    (plain(lang, "age.minor"), callbacks.AGE.data("minor")),
                ]
            ]
        ),
    )
    return AGE


async def on_age(update: Update, context: Context) -> str | int:
    choice = await pressed(update, context)
    lang = language(update, context)
    entry = answers(context)
    policy = services(context).settings.apprentices.minors
    if choice == callbacks.AGE.data("adult"):
        entry.update(age_band=AgeBand.ADULT.value, minor_policy=None)
        return await ask_name(update, context)
    entry.update(age_band=AgeBand.MINOR.value, minor_policy=policy)
    if policy == "refuse":
        forget_answers(context)
        await reply(update, context, t(lang, "age.minor_refused"))
        return END
    if policy == "allow":
        return await ask_name(update, context)
    await reply(
        update,
        context,
        t(lang, "guardian.question"),
        keyboard(
            [
                [(plain(lang, "guardian.agree"), callbacks.GUARDIAN.data("yes"))],
                [(plain(lang, "guardian.no"), callbacks.GUARDIAN.data("no"))],
            ]
        ),
    )
    return GUARDIAN


async def on_guardian(update: Update, context: Context) -> str | int:
    choice = await pressed(update, context)
    if choice == callbacks.GUARDIAN.data("no"):
        forget_answers(context)
        await reply(update, context, t(language(update, context), "guardian.declined"))
        return END
    answers(context)["guardian_confirmed_at"] = utcnow().isoformat()
    return await ask_name(update, context)


# --- display name, trade, centre, quote ---------------------------------------------------


async def ask_name(update: Update, context: Context) -> str:
    assert update.effective_user
    lang = language(update, context)
    first_name = _one_line(update.effective_user.first_name)[: NAME_LENGTH[1]]
    await reply(
        update,
        context,
        t(lang, "name.question"),
        keyboard(
            [
                [
                    (
                        plain(lang, "name.use_first_name", name=first_name),
                        callbacks.NAME.data("first"),
                    )
                ],
                [
                    (plain(lang, "name.other"), callbacks.NAME.data("other")),
                    (plain(lang, "name.anonymous"), callbacks.NAME.data("anon")),
                ],
            ]
        ),
    )
    return NAME


async def on_name_choice(update: Update, context: Context) -> str:
    assert update.effective_user
    choice = await pressed(update, context)
    entry = answers(context)
    if choice == callbacks.NAME.data("other"):
        await reply(update, context, t(language(update, context), "name.type_it"))
        return NAME_TYPED
    if choice == callbacks.NAME.data("anon"):
        entry["display_name"] = None
    else:
        entry["display_name"] = _one_line(update.effective_user.first_name)[: NAME_LENGTH[1]]
    return await next_step(update, context, ask_trade)


async def on_name_typed(update: Update, context: Context) -> str:
    name = await _typed(update, context, NAME_LENGTH, "name.bad_length")
    if name is None:
        return NAME_TYPED
    answers(context)["display_name"] = name
    return await next_step(update, context, ask_trade)


def _trade_keyboard(context: Context, lang: str, page: int) -> InlineKeyboardMarkup:
    sectors = services(context).settings.campaign.trades
    trades = sectors[page].trades
    rows = [
        [
            (trade, callbacks.TRADE.data(page, index))
            for index, trade in enumerate(trades[i : i + 2], i)
        ]
        for i in range(0, len(trades), 2)
    ]
    navigation = []
    if page > 0:
        navigation.append((plain(lang, "trade.previous"), callbacks.TRADE_PAGE.data(page - 1)))
    if page < len(sectors) - 1:
        navigation.append((plain(lang, "trade.next"), callbacks.TRADE_PAGE.data(page + 1)))
    return keyboard([*rows, navigation] if navigation else rows)


def _trade_page_text(context: Context, lang: str, page: int) -> str:
    sectors = services(context).settings.campaign.trades
    return t(lang, "trade.question", sector=sectors[page].sector, page=page + 1, pages=len(sectors))


async def ask_trade(update: Update, context: Context) -> str:
    lang = language(update, context)
    if not services(context).settings.campaign.trades:
        await reply(update, context, t(lang, "trade.type_it"))
        return TRADE
    await reply(
        update, context, _trade_page_text(context, lang, 0), _trade_keyboard(context, lang, 0)
    )
    return TRADE


async def on_trade_page(update: Update, context: Context) -> str:
    query = update.callback_query
    assert query and query.data
    await query.answer()
    page = callbacks.TRADE_PAGE.number(query.data)
    if not 0 <= page < len(services(context).settings.campaign.trades):
        return TRADE
    lang = language(update, context)
    await query.edit_message_text(
        _trade_page_text(context, lang, page), reply_markup=_trade_keyboard(context, lang, page)
    )
    return TRADE


async def on_trade_button(update: Update, context: Context) -> str:
    choice = await pressed(update, context)
    sectors = services(context).settings.campaign.trades
    entry = answers(context)
    picked = callbacks.TRADE.index(choice)
    if picked is None:
        entry["trade"] = entry.pop("typed_trade", None)
    else:
        sector, index = picked
        try:
            entry["trade"] = sectors[sector].trades[index]
        except IndexError:
            entry["trade"] = None
    if not entry.get("trade"):
        return await ask_trade(update, context)
    return await next_step(update, context, ask_centre)


async def on_trade_typed(update: Update, context: Context) -> str:
    typed = await _typed(update, context, TRADE_LENGTH, "trade.bad_length")
    if typed is None:
        return TRADE
    sectors = services(context).settings.campaign.trades
    known = {
        trade: (s, i) for s, sector in enumerate(sectors) for i, trade in enumerate(sector.trades)
    }
    entry = answers(context)
    same, close = match_typed(typed, list(known))
    if same is not None or not close:
        entry["trade"] = same or trade_name(typed)
        return await next_step(update, context, ask_centre)
    entry["typed_trade"] = trade_name(typed)
    listed = [(trade, known[trade]) for trade in close]
    question = t(language(update, context), "trade.did_you_mean")
    await _did_you_mean(update, context, callbacks.TRADE, entry["typed_trade"], listed, question)
    return TRADE


async def _did_you_mean(
    update: Update,
    context: Context,
    buttons: callbacks.Listed,
    typed: str,
    close: Sequence[tuple[str, tuple[int, ...]]],
    question: str,
) -> None:
    """``question``, with the listed choices close to what was typed and the typed text
    itself as buttons."""
    lang = language(update, context)
    rows = [[(name, buttons.data(*index))] for name, index in close]
    rows.append([(plain(lang, "common.keep_typed", text=typed), buttons.typed)])
    await reply(update, context, question, keyboard(rows))


async def ask_centre(update: Update, context: Context) -> str:
    lang = language(update, context)
    entry = answers(context)
    if entry.pop("centre_from_link", False):
        # Pre-selected by the QR code's deep link: say so and skip the question once.
        await reply(update, context, t(lang, "centre.from_link", centre=entry["centre_name"]))
        return await ask_quote(update, context)
    centres = services(context).settings.campaign.centres
    if not centres:
        await reply(update, context, t(lang, "centre.type_it"))
        return CENTRE
    rows = [[(centre.name, callbacks.CENTRE.data(index))] for index, centre in enumerate(centres)]
    await reply(update, context, t(lang, "centre.question"), keyboard(rows))
    return CENTRE


async def on_centre_button(update: Update, context: Context) -> str:
    choice = await pressed(update, context)
    centres = services(context).settings.campaign.centres
    entry = answers(context)
    picked = callbacks.CENTRE.index(choice)
    if picked is None:
        typed = entry.pop("typed_centre", None)
        if not typed:
            return await ask_centre(update, context)
        entry["centre_code"], entry["centre_name"] = None, typed
    else:
        (index,) = picked
        if not 0 <= index < len(centres):
            return await ask_centre(update, context)
        entry["centre_code"], entry["centre_name"] = centres[index].code, centres[index].name
    return await next_step(update, context, ask_quote)


async def on_centre_typed(update: Update, context: Context) -> str:
    typed = await _typed(update, context, CENTRE_LENGTH, "centre.bad_length")
    if typed is None:
        return CENTRE
    centres = services(context).settings.campaign.centres
    names = [centre.name for centre in centres]
    entry = answers(context)
    codes = {c.code: c.name for c in centres if c.code}
    same, close = match_typed(typed, names, codes)
    if same is not None:
        centre = centres[names.index(same)]
        entry["centre_code"], entry["centre_name"] = centre.code, centre.name
        return await next_step(update, context, ask_quote)
    if not close:
        entry["centre_code"], entry["centre_name"] = None, typed
        return await next_step(update, context, ask_quote)
    entry["typed_centre"] = typed
    listed = [(name, (names.index(name),)) for name in close]
    question = t(language(update, context), "centre.did_you_mean")
    await _did_you_mean(update, context, callbacks.CENTRE, typed, listed, question)
    return CENTRE


async def ask_quote(update: Update, context: Context) -> str:
    lang = language(update, context)
    await reply(
        update,
        context,
        t(lang, "quote.question", max=QUOTE_MAX),
        keyboard([[(plain(lang, "quote.skip"), callbacks.QUOTE.data("skip"))]]),
    )
    return QUOTE


async def on_quote_skip(update: Update, context: Context) -> str:
    await pressed(update, context)
    answers(context)["quote"] = None
    return await after_details(update, context)


async def on_quote_typed(update: Update, context: Context) -> str:
    assert update.effective_message and update.effective_message.text
    quote = _one_line(update.effective_message.text)
    if len(quote) > QUOTE_MAX:
        lang = language(update, context)
        await reply(update, context, t(lang, "quote.too_long", max=QUOTE_MAX, length=len(quote)))
        return QUOTE
    answers(context)["quote"] = quote or None
    return await after_details(update, context)


async def after_details(update: Update, context: Context) -> str:
    """Editing details from the preview keeps the photo: go back to the preview."""
    answers(context).pop(EDITING, None)
    if answers(context).get("draft_id") is not None and await show_preview(update, context):
        return PREVIEW
    return await ask_photo(update, context)


EDITING = "editing"
"""Set in the answers while one detail is changed from the preview."""


async def next_step(
    update: Update, context: Context, ask: Callable[[Update, Context], Awaitable[str]]
) -> str:
    """The next question; back to the preview instead when the apprentice is changing just
    this one answer."""
    if answers(context).get(EDITING):
        return await after_details(update, context)
    return await ask(update, context)


async def ask_what_to_edit(update: Update, context: Context) -> str:
    """« Modifier les infos »: one answer to change, the others kept."""
    lang = language(update, context)
    rows = [
        [
            (plain(lang, "edit.name"), callbacks.EDIT.data("name")),
            (plain(lang, "edit.trade"), callbacks.EDIT.data("trade")),
        ],
        [
            (plain(lang, "edit.centre"), callbacks.EDIT.data("centre")),
            (plain(lang, "edit.quote"), callbacks.EDIT.data("quote")),
        ],
        [(plain(lang, "edit.back"), callbacks.EDIT.data("back"))],
    ]
    await reply(update, context, t(lang, "edit.question"), keyboard(rows))
    return EDIT


async def on_edit_choice(update: Update, context: Context) -> str:
    field = callbacks.EDIT.option(await pressed(update, context))
    if field == "back":
        return await after_details(update, context)
    answers(context)[EDITING] = True
    ask = {"name": ask_name, "trade": ask_trade, "centre": ask_centre, "quote": ask_quote}
    return await ask[field](update, context)


# --- photo and preview --------------------------------------------------------------------


async def ask_photo(update: Update, context: Context) -> str:
    await reply(update, context, t(language(update, context), "photo.question"))
    return PHOTO


NEEDED_BEFORE_PHOTO = ("consent_at", "age_band", "trade", "centre_name")


async def on_photo(update: Update, context: Context) -> str | int:
    message = update.effective_message
    assert message and update.effective_user
    lang = language(update, context)
    entry = answers(context)
    if any(key not in entry for key in NEEDED_BEFORE_PHOTO):
        # The answers were lost (a reply Telegram said it could not send, say): nothing
        # is stored without its consent, so the apprentice starts again.
        forget_answers(context)
        await reply(update, context, t(lang, "common.lost_track"))
        return END
    stay = PREVIEW if entry.get("draft_id") is not None else PHOTO
    if message.media_group_id and message.media_group_id == entry.get("media_group"):
        await reply(update, context, t(lang, "photo.problem.album"))
        return stay
    try:
        source = photo_to_download(message)
        data = await (await context.bot.get_file(source.file_id)).download_as_bytearray()
    except PhotoProblem as problem:
        await reply(update, context, t(lang, f"photo.problem.{problem.code}"))
        return stay
    except BadRequest as error:
        # Telegram refuses getFile over 20 MB even when the size was not announced.
        log.info("photo of user %s not downloadable: %s", update.effective_user.id, error)
        await reply(update, context, t(lang, "photo.problem.too_big"))
        return stay
    except TelegramError as error:
        log.warning("photo download failed for user %s: %s", update.effective_user.id, error)
        await reply(update, context, t(lang, "photo.problem.download_failed"))
        return stay
    options = services(context).images
    try:
        async with slot_released():
            processed = await services(context).image_workers.process(data, options)
    except ImageRejected as rejection:
        log.info("photo from user %s refused: %s", update.effective_user.id, rejection)
        await reply(
            update,
            context,
            t(
                lang,
                f"photo.rejected.{rejection.code}",
                min=options.min_short_side,
                megapixels=_pixel_limit(rejection, options) // 1_000_000,
            ),
        )
        return stay
    entry["media_group"] = message.media_group_id
    user, svc = update.effective_user, services(context)
    sender = Sender(user.id, user.first_name, user.username, lang)
    entry["draft_id"] = await keep_photo(
        svc.sessions,
        svc.photos,
        sender,
        entry,
        source.file_unique_id,
        processed,
        searched=options.faces_min_px is not None,
    )
    log.info(
        "draft %s: photo %sx%s from user %s",
        entry["draft_id"],
        processed.width,
        processed.height,
        update.effective_user.id,
    )
    if await show_preview(update, context):
        await show_coach(update, context, processed)
    return PREVIEW


def _pixel_limit(rejection: ImageRejected, options: ImageOptions) -> int:
    """The limit that refused the image: lower than ``max_pixels`` for formats that cost
    more to decode (a transparent PNG, a WebP)."""
    if isinstance(rejection, TooManyPixels) and rejection.max_pixels:
        return rejection.max_pixels
    return options.max_pixels


def preview_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(plain(lang, "preview.send"), callbacks.PREVIEW.data("send"))],
            [
                (plain(lang, "preview.change_photo"), callbacks.PREVIEW.data("photo")),
                (plain(lang, "preview.edit"), callbacks.PREVIEW.data("edit")),
            ],
            [(plain(lang, "preview.cancel"), callbacks.PREVIEW.data("cancel"))],
        ]
    )


async def show_preview(update: Update, context: Context) -> bool:
    """Send the processed photo with the exact channel caption; False if the draft is gone.

    The photo is uploaded once here; its Telegram file_id is kept for the moderation card
    and the channel post.
    """
    assert update.effective_user and update.effective_chat
    lang = language(update, context)
    entry = answers(context)
    async with services(context).sessions() as session, session.begin():
        draft = await get_draft(session, entry["draft_id"], update.effective_user.id)
        if draft is None or draft.photo_path is None:
            entry.pop("draft_id", None)
            return False
        for key, value in detail_fields(entry).items():
            setattr(draft, key, value)
        caption = entry_caption(draft, services(context).settings)
        photo_path, file_id = draft.photo_path, draft.photo_file_id
    photo: Any = file_id or await asyncio.to_thread(services(context).photos.read, photo_path)
    await reply(update, context, t(lang, "preview.intro"))
    sent: Message = await context.bot.send_photo(
        update.effective_chat.id,
        photo,
        caption=caption,
        reply_markup=preview_buttons(lang),
    )
    async with services(context).sessions() as session, session.begin():
        await note_shown_photo(session, update.effective_user.id, sent.message_id)
        if file_id is None and sent.photo:
            await set_photo_file_id(session, entry["draft_id"], sent.photo[-1].file_id)
    return True


async def on_preview(update: Update, context: Context) -> str | int:
    assert update.effective_user
    choice = await pressed(update, context)
    lang = language(update, context)
    entry = answers(context)
    if choice == callbacks.PREVIEW.data("photo"):
        return await ask_photo(update, context)
    if choice == callbacks.PREVIEW.data("edit"):
        return await ask_what_to_edit(update, context)
    if choice == callbacks.PREVIEW.data("cancel"):
        await discard_draft(context, entry)
        forget_answers(context)
        await reply(update, context, t(lang, "preview.cancelled"))
        return END
    limit = services(context).settings.apprentices.max_pending
    try:
        async with services(context).sessions() as session, session.begin():
            if await count_pending(session, update.effective_user.id) >= limit:
                await reply(update, context, tn(lang, "start.too_many_pending", limit))
                return PREVIEW
            sent = await submit(session, entry.get("draft_id", -1))
            if sent:
                await audit_agreement(session, entry["draft_id"], update.effective_user.id)
    except SQLAlchemyError:
        await give_back_preview_buttons(update, lang)  # the error handler says « réessaie »
        raise
    forget_answers(context)
    if sent:
        await reply(update, context, t(lang, "preview.thanks"))
        # In the background: the card waits for the group's pace (Telegram allows about
        # 20 messages a minute there) without holding up other apprentices' updates.
        card = post_card(context.bot, services(context), entry["draft_id"])
        context.application.create_task(card, update=update, name="post_card")
    else:
        await reply(update, context, t(lang, "preview.already_sent"))
    return END


async def give_back_preview_buttons(update: Update, lang: str) -> None:
    """The preview lost its buttons when pressed: without them, « réessaie » could not be
    done."""
    assert update.callback_query
    try:
        await update.callback_query.edit_message_reply_markup(preview_buttons(lang))
    except TelegramError as error:
        log.warning("preview buttons not given back: %s", error.message)


async def on_coach(update: Update, context: Context) -> str:
    """A button of the coach's message: other people's faces blurred (then the new
    preview) or declared agreeing; « another photo » is the preview's own button."""
    choice = callbacks.COACH.option(await pressed(update, context))
    if choice == "agree":
        await record_agreement(update, context)
    elif await blur_bystanders(update, context):
        await show_preview(update, context)
    return PREVIEW


async def discard_draft(context: Context, entry: dict[str, Any]) -> None:
    if entry.get("draft_id") is None:
        return
    async with services(context).sessions() as session, session.begin():
        path = await delete_draft(session, entry["draft_id"])
    await asyncio.to_thread(services(context).photos.delete, path)


# --- wrong input at a step, cancel --------------------------------------------------------


async def remind_step(update: Update, context: Context) -> None:
    """Something this step does not expect: point at the question, stay at the step."""
    await reply(update, context, t(language(update, context), "common.answer_above"))


async def cancel(update: Update, context: Context) -> int:
    entry = answers(context)
    await discard_draft(context, entry)
    forget_answers(context)
    await reply(update, context, t(language(update, context), "cancel.done"))
    return END


async def erasure_from_conversation(update: Update, context: Context) -> int:
    """/supprimer during the conversation ends it first: the answers are about to go."""
    await ask_erasure(update, context)
    return END


OWN_BUTTONS = re.compile(
    r"^(consent|age|guardian|name|tpage|trade|centre|quote|preview|coach|edit):"
)


class AnswersGone(BaseHandler[Update, Context, object]):
    """Takes the apprentice's next message or button at a step whose answers retention
    forgot (the daily purge reaches conversations PTB does not time out, such as those
    restored after a restart): they are told, the conversation ends. Commands pass by, so
    /supprimer and /annuler always work."""

    def __init__(self, user_data: Mapping[int, dict[Any, Any]]) -> None:
        super().__init__(on_answers_gone)
        self.user_data = user_data

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.effective_user is None:
            return False
        if update.callback_query is not None:
            ours = OWN_BUTTONS.match(update.callback_query.data or "") is not None
        else:
            ours = update.message is not None and not (update.message.text or "").startswith("/")
        return ours and "entry" not in self.user_data.get(update.effective_user.id, {})


async def on_answers_gone(update: Update, context: Context) -> int:
    if update.callback_query is not None:
        await pressed(update, context)
    await reply(update, context, t(language(update, context), "draft.expired"))
    return END


async def on_timeout(update: Update, context: Context) -> None:
    """PTB's ``conversation_timeout`` ran out: the unfinished entry is forgotten."""
    await discard_draft(context, answers(context))
    forget_answers(context)
    user = update.effective_user
    try:
        await reply(update, context, t(language(update, context), "draft.expired"))
    except TelegramError as error:
        log.info("user %s not told their draft expired: %s", user.id if user else None, error)


def build_conversation(
    timeout: timedelta, user_data: Mapping[int, dict[Any, Any]]
) -> ConversationHandler:
    """The apprentice's steps; ``timeout`` of silence ends one (``retention.draft_hours``),
    ``user_data`` is the application's, read to notice answers retention forgot."""
    text = filters.TEXT & ~filters.COMMAND
    gone = AnswersGone(user_data)
    with warnings.catch_warnings():
        # PTB warns that buttons are tracked per chat, not per message: that is the intent
        # (one conversation per apprentice; stale buttons are answered elsewhere).
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler(START.all_names, start, filters=filters.ChatType.PRIVATE)],
            states={
                CONSENT: [
                    gone,
                    CallbackQueryHandler(on_consent, pattern=callbacks.CONSENT.pattern),
                ],
                AGE: [gone, CallbackQueryHandler(on_age, pattern=callbacks.AGE.pattern)],
                GUARDIAN: [
                    gone,
                    CallbackQueryHandler(on_guardian, pattern=callbacks.GUARDIAN.pattern),
                ],
                NAME: [
                    gone,
                    CallbackQueryHandler(on_name_choice, pattern=callbacks.NAME.pattern),
                ],
                NAME_TYPED: [gone, MessageHandler(text, on_name_typed)],
                TRADE: [
                    gone,
                    CallbackQueryHandler(on_trade_page, pattern=callbacks.TRADE_PAGE.pattern),
                    CallbackQueryHandler(on_trade_button, pattern=callbacks.TRADE.pattern),
                    MessageHandler(text, on_trade_typed),
                ],
                CENTRE: [
                    gone,
                    CallbackQueryHandler(on_centre_button, pattern=callbacks.CENTRE.pattern),
                    MessageHandler(text, on_centre_typed),
                ],
                QUOTE: [
                    gone,
                    CallbackQueryHandler(on_quote_skip, pattern=callbacks.QUOTE.pattern),
                    MessageHandler(text, on_quote_typed),
                ],
                PHOTO: [gone, MessageHandler(~filters.COMMAND, on_photo)],
                EDIT: [gone, CallbackQueryHandler(on_edit_choice, pattern=callbacks.EDIT.pattern)],
                PREVIEW: [
                    gone,
                    CallbackQueryHandler(on_preview, pattern=callbacks.PREVIEW.pattern),
                    CallbackQueryHandler(on_coach, pattern=callbacks.COACH.pattern),
                    MessageHandler(~filters.COMMAND & ~filters.TEXT, on_photo),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, on_timeout)],
            },
            fallbacks=[
                CommandHandler(CANCEL.all_names, cancel),
                CommandHandler(DELETE.all_names, erasure_from_conversation),
                MessageHandler(~filters.COMMAND, remind_step),
            ],
            name="apprentice",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timeout,
        )
