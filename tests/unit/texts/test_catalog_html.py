"""Every catalog text, filled with hostile values, is HTML Telegram accepts.

Messages go out with ``parse_mode=HTML``: one stray ``<`` or ``&`` in a catalog, or a value
not escaped, and Telegram answers 400, so the person sees nothing. Each text of both
languages, every plural form, goes through the emulator's parser, the strict one that
answers those 400s.
"""

from __future__ import annotations

import functools
import string

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, catalog_files, t, tn, translations
from bot.sandbox.emulator.errors import ApiError
from bot.sandbox.emulator.formatting import parse_html
from models import SubmissionStatus
from tests.support import ROOT

HOSTILE = "Tom & Jerry <3 </b> &amp; <a href='x'>"
COUNTS = (0, 1, 2, 5)


CATALOGS = [
    pytest.param(language, path.stem, id=f"{language}-{path.stem}")
    for language in LANGUAGES
    for path in catalog_files(language)
]
"""Each catalog of each language: a failure names the file to mend."""


def messages(language: str, catalog: str | None = None) -> list[tuple[str, bool]]:
    """(key, is a plural entry) of every message of ``language``'s catalogs (of one)."""
    found: list[tuple[str, bool]] = []
    for path in catalog_files(language):
        if catalog is not None and path.stem != catalog:
            continue
        with path.open("rb") as po_file:
            for message in read_po(po_file):
                if message.id:
                    key = message.id[0] if message.pluralizable else message.id
                    found.append((key, message.pluralizable))
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def filled(language: str, key: str, plural: bool) -> list[tuple[str, bool]]:
    """The text as sent, every placeholder a hostile value, every plural form; and whether
    it has a value to show."""
    if not plural:
        names = placeholders(t(language, key))
        return [(t(language, key, **dict.fromkeys(names, HOSTILE)), bool(names))]
    texts = []
    for count in COUNTS:
        names = placeholders(translations(language).ngettext(key, key, count)) - {"count"}
        texts.append((tn(language, key, count, **dict.fromkeys(names, HOSTILE)), bool(names)))
    return texts


@pytest.mark.parametrize(("language", "catalog"), CATALOGS)
def test_every_text_parses_as_telegram_html_with_hostile_values(
    language: str, catalog: str
) -> None:
    refused: list[str] = []
    for key, plural in messages(language, catalog):
        for text, has_values in filled(language, key, plural):
            try:
                visible, _ = parse_html(text)
            except ApiError as error:
                refused.append(f"{key}: {error}")
                continue
            if has_values and HOSTILE not in visible:
                refused.append(f"{key}: a value is not shown as given")
    assert not refused, "\n".join(refused)


PLAIN_FAMILIES = (
    "command.",
    "state.",
    "reason.",
    "card.minor.",
    "removal.check.",
    "publishing.outcome.",
    "publishing.unpublished.",
)
"""Keys built at run time and shown as plain text (alerts, labels, values in other texts)."""


def plain_keys() -> set[str]:
    """Keys the code fills with :func:`plain` / :func:`plain_n`, literally or by family."""
    found = {
        message if isinstance(message, str) else message[0]
        for folder in ("bot", "handlers")
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python")],
            keywords={"plain": (2,), "plain_n": (2,)},
        )
    }
    everything = {key for key, _ in messages("fr")}
    statuses = {f"status.{status.value}" for status in SubmissionStatus}
    return found | statuses | {key for key in everything if key.startswith(PLAIN_FAMILIES)}


@functools.cache
def plain_keys_once() -> frozenset[str]:
    return frozenset(plain_keys())


@pytest.mark.parametrize(("language", "catalog"), CATALOGS)
def test_plain_texts_have_no_markup(language: str, catalog: str) -> None:
    """A label or alert is shown as written: a tag or ``&amp;`` there would show as such."""
    wanted = plain_keys_once()
    assert "card.approve" in wanted and "mod.already_decided" in wanted
    marked = []
    for key, plural in messages(language, catalog):
        if key not in wanted:
            continue
        catalog = translations(language)
        forms = [catalog.ngettext(key, key, n) for n in COUNTS] if plural else [t(language, key)]
        marked += [f"{key}: {text!r}" for text in forms if parse_html(text) != (text, [])]
    assert not marked, "\n".join(marked)
