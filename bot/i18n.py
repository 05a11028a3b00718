"""User-visible texts: gettext catalogs (fr, en) managed with Babel.

Message ids are stable keys (``"consent.pitch"``), never French or English prose, so both
catalogs are translations of equal rank and a missing entry is caught by the tests. Each
language is a folder of ``.po`` files, one per flow (``bot/locales/fr/apprentice.po``…),
merged and compiled in memory when first used: no build step, no binary in git.
Values interpolated into a text are HTML-escaped because every message is sent in HTML mode.
"""

from __future__ import annotations

import html
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES_DIR = Path(__file__).with_name("locales")


class Safe(str):
    """A value already in Telegram HTML (a link built by the bot): not escaped again."""


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


def t(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (French when unknown), with values filled in."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    text = translations(language).gettext(key)
    if not values:
        return text
    escaped = {
        name: value if isinstance(value, Safe) else html.escape(str(value), quote=False)
        for name, value in values.items()
    }
    return text.format(**escaped)


def language_from_telegram(language_code: str | None) -> str:
    """Telegram's ``language_code`` mapped to a supported language; French otherwise."""
    if language_code and language_code.split("-")[0].lower() == "en":
        return "en"
    return DEFAULT_LANGUAGE
