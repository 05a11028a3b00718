"""The message catalogs: every text the code uses exists in French and English, alike."""

from __future__ import annotations

import functools
import string
from datetime import UTC, datetime
from typing import get_args

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.campaign.coach import Focus, Hint, Light
from bot.config import DEFAULT_REASONS, MinorsPolicy
from bot.files import FOLDERS
from bot.i18n import (
    LANGUAGES,
    catalog_files,
    language_from_telegram,
    local_moment,
    plain_n,
    t,
    tn,
)
from bot.photos import refusals
from bot.telegram.cards import UNDONE
from bot.telegram.commands import MODERATION_COMMANDS, PRIVATE_COMMANDS
from bot.telegram.publisher import Outcome
from bot.telegram.removals import Check, Result
from bot.telegram.uploads import PROBLEM_CODES
from models import SubmissionStatus
from tests.support import ROOT


def catalog(language: str) -> dict[str, tuple[str, ...]]:
    """Key → its text: one for a plain entry, one per plural form for a plural entry."""
    texts: dict[str, tuple[str, ...]] = {}
    for path in catalog_files(language):
        with path.open("rb") as po_file:
            for message in read_po(po_file, locale=language):
                if message.id:
                    key = message.id[0] if message.pluralizable else message.id
                    assert key not in texts, f"{key} is in two {language} files"
                    forms = message.string if message.pluralizable else (message.string,)
                    texts[key] = tuple(forms)
    return texts


def plural_forms(language: str) -> int:
    """How many plural forms the language's catalogs declare (all alike)."""
    declared = set()
    for path in catalog_files(language):
        with path.open("rb") as po_file:
            declared.add(read_po(po_file, locale=language).num_plurals)
    [forms] = declared
    return forms


def plural_entries(language: str) -> set[str]:
    return {key for key, forms in catalog(language).items() if len(forms) > 1}


@functools.cache
def keys_used_with_a_count() -> frozenset[str]:
    return frozenset(
        {
            message if isinstance(message, str) else message[0]
            for folder in ("bot", "handlers")
            for _, _, message, _, _ in extract_from_dir(
                ROOT / folder,
                method_map=[("**.py", "python")],
                keywords={"tn": (2,), "plain_n": (2,)},
            )
        }
        | keys_used_in_templates(counted=True)
    )


def keys_used_in_templates(*, counted: bool = False) -> set[str]:
    """The public site's templates (bot/site/templates) call ``_(key)`` and
    ``_n(key, count)``."""
    keywords = {"_n": (1,)} if counted else {"_": (1,), "_n": (1,)}
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            ROOT / "bot" / "site" / "templates",
            method_map=[("**.html", "jinja2.ext:babel_extract")],
            keywords=keywords,
        )
    }


@functools.cache
def keys_used_in_code() -> frozenset[str]:
    used: set[str] = set()
    for folder in ("bot", "handlers"):
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python")],
            keywords={
                "t": (2,),
                "tn": (2,),
                "plain": (2,),
                "plain_n": (2,),
                "tell_apprentice": (4,),
                "_typed": (4,),
            },
        ):
            used.add(message if isinstance(message, str) else message[0])
    used |= keys_used_in_templates()
    # Keys built at run time from a code: every code of each family.
    for command in PRIVATE_COMMANDS + MODERATION_COMMANDS:
        used.add(command.description_key)
    used.update(f"photo.problem.{code}" for code in PROBLEM_CODES)
    used.update(f"disk.{news}.{name}" for news in ("full", "room_again") for name in FOLDERS)
    used.update(f"status.{status.value}" for status in SubmissionStatus)
    # The bot's refusals only: tests define subclasses of their own.
    rejections = [refusals.ImageRejected, *refusals.ImageRejected.__subclasses__()]
    rejections = [r for r in rejections if r.__module__ == refusals.__name__]
    used.update(f"photo.rejected.{rejection.code}" for rejection in rejections)
    used.update(f"state.{status.value}" for status in SubmissionStatus)
    used.update(f"reason.{code}" for code in [*DEFAULT_REASONS, "banned", "unpublished"])
    used.update(f"card.minor.{policy}" for policy in get_args(MinorsPolicy))
    used.update(f"card.{status}" for status in ("publishing", "needs_check"))
    used.update(f"publishing.outcome.{outcome.value}" for outcome in Outcome)
    used.update(f"publishing.unpublished.{result.value}" for result in Result)
    used.update(f"removal.check.{check.value}" for check in Check)
    used.update(f"decision.undone_{what}" for what in ("refusal", "removal", "approval"))
    used.update(f"coach.{hint.value}" for hint in Hint)
    used.update(f"card.focus.{focus.value}" for focus in Focus)
    used.update(f"card.light.{light}" for light in [*Light, "unknown"])
    used.update(f"card.face.{face}" for face in ("ok", "small", "none", "unknown"))
    used.update(f"card.undone.{what}" for what in [*UNDONE.values(), "decision"])
    return frozenset(used)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_have_every_key_and_nothing_else(language: str) -> None:
    used = keys_used_in_code()
    assert used, "extraction found no texts"
    texts = catalog(language)
    missing, unused = used - set(texts), set(texts) - used
    assert not missing and not unused, f"{language}: missing {missing}, unused {unused}"
    assert all(all(forms) for forms in texts.values()), f"{language}: empty translations"


def test_translations_use_the_same_placeholders() -> None:
    french, english = catalog("fr"), catalog("en")
    for key in french:
        assert set().union(*map(placeholders, french[key])) == set().union(
            *map(placeholders, english[key])
        ), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_with_a_count_are_plural_entries_looked_up_with_it(language: str) -> None:
    """No "participation(s)": a count picks its form (gettext plural, the language's rule)."""
    counted = keys_used_with_a_count()
    assert "erase.done" in counted and "queue.pending" in counted
    texts, forms_wanted = catalog(language), plural_forms(language)
    assert plural_entries(language) == counted, language
    for key, forms in texts.items():
        if any("{count}" in form for form in forms):
            assert key in counted, (language, key)
        assert "(s)" not in "".join(forms), (language, key)
        if key in counted:
            assert len(forms) == forms_wanted, (language, key)


def test_plural_forms_follow_each_language() -> None:
    assert tn("fr", "erase.done", 0) == tn("fr", "erase.done", 1).replace("1", "0")
    assert "participations retirées" in tn("fr", "erase.done", 2)
    assert "1 entry removed" in tn("en", "erase.done", 1)
    assert "0 entries removed" in tn("en", "erase.done", 0)
    assert plain_n("fr", "mod.banned", 3) == "Banni·e. 3 participations en attente refusées."


def test_values_are_escaped_for_html() -> None:
    text = t("fr", "consent.pitch", campaign="<b>Fiers</b> & co", where="ici")
    assert "&lt;b&gt;Fiers&lt;/b&gt; &amp; co" in text


def test_language_choice() -> None:
    assert language_from_telegram("en-GB") == "en"
    assert language_from_telegram("fr") == "fr"
    assert language_from_telegram("de") == "fr"
    assert language_from_telegram(None) == "fr"
    assert t("de", "command.help") == t("fr", "command.help")


def test_dates_are_in_the_campaign_time_zone() -> None:
    winter, summer = (
        datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
    )
    assert local_moment("fr", winter, "Europe/Paris") == "15/01/2026 à 13:00"
    assert local_moment("fr", summer, "Europe/Paris") == "15/07/2026 à 14:00"
    assert local_moment("en", winter, "Pacific/Auckland") == "16/01/2026 at 01:00"
    assert local_moment("fr", summer, "Pacific/Auckland", with_time=False) == "16/07/2026"
