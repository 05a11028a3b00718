"""User-visible texts: gettext catalogs (fr, en) managed with Babel.

Message ids are stable keys (``"consent.pitch"``), never French or English prose, so both
catalogs are translations of equal rank and a missing entry is caught by the tests. Each
language is a folder of ``.po`` files, one per flow (``bot/locales/fr/apprentice.po``…),
merged and compiled in memory when first used: no build step, no binary in git.
Messages are sent in HTML mode: :func:`t` and :func:`tn` escape the values they fill in.
Button labels, callback-query alerts and command descriptions are plain text, shown as
given: :func:`plain` and :func:`plain_n` fill them in unescaped (an ``&amp;`` there would
be shown as such). Texts with a count are gettext plural entries (``msgid_plural``, one
``msgstr[n]`` per plural form of the language), looked up with the count.
"""

from __future__ import annotations

import html
import io
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES_DIR = Path(__file__).with_name("locales")


def catalog_files(language: str) -> list[Path]:
    return sorted((LOCALES_DIR / language).glob("*.po"))


@cache
def translations(language: str) -> Translations:
    merged: Translations | None = None
    for path in catalog_files(language):
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        merged = part if merged is None else merged.merge(part)
    if merged is None:
        raise FileNotFoundError(f"no catalogs for {language} in {LOCALES_DIR}")
    return merged


def _lookup(language: str, key: str, count: int | None) -> str:
    catalog = translations(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    if count is None:
        return catalog.gettext(key)
    return catalog.ngettext(key, key, count)


_ENDS_A_SENTENCE = frozenset(".!?…")


def sentence(text: str) -> str:
    """``text`` as a whole sentence, to put before another: a full stop added unless it
    already ends one (« . », « ! », « ? », « … ») or ends with an emoji, so that a
    typed reason never reads « …stp.. »."""
    text = text.rstrip()
    if not text:
        return text
    last = text.rstrip("\ufe0f\u200d")[-1:]
    if last in _ENDS_A_SENTENCE or unicodedata.category(last) == "So":
        return text
    return text + "."


def _html(values: dict[str, object]) -> dict[str, str]:
    return {name: html.escape(str(value), quote=False) for name, value in values.items()}


def t(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (French when unknown), for a message in HTML mode:
    values are escaped."""
    text = _lookup(language, key, None)
    return text.format(**_html(values)) if values else text


def tn(language: str, key: str, count: int, **values: object) -> str:
    """:func:`t` for a text with a count: the plural form ``count`` calls for, ``{count}``
    filled in."""
    return _lookup(language, key, count).format(**_html({"count": count, **values}))


def plain(language: str, key: str, **values: object) -> str:
    """The text ``key`` for a place Telegram shows as is (a button, an alert): values
    are not escaped."""
    text = _lookup(language, key, None)
    return text.format(**values) if values else text


def plain_n(language: str, key: str, count: int, **values: object) -> str:
    """:func:`plain` for a text with a count (see :func:`tn`)."""
    return _lookup(language, key, count).format(count=count, **values)


def local_moment(language: str, moment: datetime, timezone: str, *, with_time: bool = True) -> str:
    """A date (and time) as a person reads it: in the campaign's time zone
    (``schedule.timezone``), never the UTC the database holds. Plain text (a value)."""
    local = moment.astimezone(ZoneInfo(timezone))
    date = local.strftime("%d/%m/%Y")
    return (
        plain(language, "time.at", date=date, time=local.strftime("%H:%M")) if with_time else date
    )


def language_from_telegram(language_code: str | None) -> str:
    """Telegram's ``language_code`` mapped to a supported language; French otherwise."""
    if language_code and language_code.split("-")[0].lower() == "en":
        return "en"
    return DEFAULT_LANGUAGE
