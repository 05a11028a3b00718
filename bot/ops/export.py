"""The consent register's export for the organiser (``selfie-bot export``): a CSV of every
entry that is or was public, or a ZIP with that CSV, the consent texts and the photos.

Made for a data-protection officer who opens it in a spreadsheet: UTF-8 with a BOM,
semicolons, a header row in English snake_case (:data:`REGISTER_HEADER`), dates in ISO 8601
in the campaign's time zone with their offset. A cell that a spreadsheet would read as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
apostrophe: names and trades are typed by apprentices. An empty ``display_name`` is an
anonymous entry; an erased entry has only its number, ``erased`` and the erasure's date.

Plain functions: the queries are :mod:`models.register` and :mod:`models.consent`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.files import PRIVATE_FILE, write_atomically
from models.register import RegisterLine, RegisterStatus

REGISTER_HEADER = (
    "entry",
    "status",
    "display_name",
    "trade",
    "centre",
    "consent_at",
    "consent_version",
    "age_band",
    "guardian_confirmed_at",
    "approved_by",
    "approved_at",
    "published_at",
    "removed_at",
    "channel_message_id",
)
CONSENT_TEXTS_HEADER = ("version", "language", "first_shown_at", "names_site", "text")

REGISTER_CSV = "register.csv"
CONSENT_TEXTS_CSV = "consent-texts.csv"
PHOTOS_DIR = "photos"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class ExportProblem(Exception):
    """The export cannot be made; the message is one line for the operator."""


@dataclass(frozen=True)
class ConsentTextRow:
    version: str
    language: str
    first_shown_at: datetime
    names_site: bool
    text: str


@dataclass(frozen=True)
class Register:
    lines: list[RegisterLine]
    consent_texts: list[ConsentTextRow]


@dataclass(frozen=True)
class Summary:
    """Counts only: it goes to the terminal, never a name."""

    lines: int
    erased: int
    photos: int | None = None

    def __str__(self) -> str:
        text = f"register: {self.lines} lines ({self.erased} erased)"
        if self.photos is not None:
            text += f", {self.photos} photos"
        return text


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it (CSV/formula injection)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cell(value: object, zone: ZoneInfo) -> str:
    """One CSV cell: empty for None, dates in ``zone`` with their offset, text guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    return safe_cell(str(value))


def register_row(line: RegisterLine, zone: ZoneInfo) -> list[str]:
    values = [getattr(line, name) for name in REGISTER_HEADER]
    return [cell(value, zone) for value in values]


def consent_text_row(text: ConsentTextRow, zone: ZoneInfo) -> list[str]:
    return [cell(getattr(text, name), zone) for name in CONSENT_TEXTS_HEADER]


def write_csv(target: IO[bytes], header: Sequence[str], rows: Iterable[list[str]]) -> None:
    """The spreadsheet dialect: UTF-8 with a BOM, ``;``, CRLF, quotes where needed (a
    value's own line breaks stay inside its quotes)."""
    stream = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=True)
    try:
        stream.write(BOM)
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        stream.flush()
    finally:
        stream.detach()  # the caller owns ``target``


def write_register(target: IO[bytes], lines: Iterable[RegisterLine], zone: ZoneInfo) -> None:
    write_csv(target, REGISTER_HEADER, (register_row(line, zone) for line in lines))


def write_consent_texts(target: IO[bytes], texts: Iterable[ConsentTextRow], zone: ZoneInfo) -> None:
    write_csv(target, CONSENT_TEXTS_HEADER, (consent_text_row(text, zone) for text in texts))


def photo_file(storage: Path, relative: str | None) -> Path | None:
    """The stored photo of an entry if it is still on disk (and inside ``storage``)."""
    if not relative:
        return None
    root = storage.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def write_zip(target: IO[bytes], register: Register, storage: Path, zone: ZoneInfo) -> int:
    """register.csv, consent-texts.csv and photos/<entry>.jpg, one photo at a time from
    disk into the archive; the number of photos."""
    photos = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(REGISTER_CSV, "w") as member:
            write_register(member, register.lines, zone)
        with archive.open(CONSENT_TEXTS_CSV, "w") as member:
            write_consent_texts(member, register.consent_texts, zone)
        for line in register.lines:
            path = photo_file(storage, line.photo_path)
            if path is None:
                continue
            try:  # JPEGs do not shrink: stored as they are, copied in chunks
                archive.write(path, f"{PHOTOS_DIR}/{line.entry}.jpg", zipfile.ZIP_STORED)
            except FileNotFoundError:  # removed meanwhile (an erasure, the purge)
                continue
            photos += 1
    return photos


async def read_register(url: str, *, consent_texts: bool) -> Register:
    """The register (and every consent text, for the ZIP), read in one session."""
    from models.consent import consent_texts as all_consent_texts
    from models.db import make_engine, make_sessionmaker
    from models.register import register_lines

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            lines = await register_lines(session)
            texts = await all_consent_texts(session) if consent_texts else []
    finally:
        await engine.dispose()
    rows = [
        ConsentTextRow(t.version, t.language, t.first_shown_at, t.names_site, t.text) for t in texts
    ]
    return Register(lines, rows)


def export(
    settings: Settings, out: Path | None, *, photos: bool, stdout: IO[bytes] | None = None
) -> Summary:
    """Read the register and write it: to ``stdout`` (a CSV) when ``out`` is None, else to
    ``out`` (a CSV, or a ZIP with ``photos``). Raises :class:`ExportProblem`."""
    if photos and out is None:
        raise ExportProblem("export: --photos writes a ZIP file: give it --out FILE")
    try:
        register = asyncio.run(read_register(settings.database.url, consent_texts=photos))
    except (DBAPIError, OSError) as error:  # the server's or the file's own words
        cause = error.orig if isinstance(error, DBAPIError) else error
        reason = (str(cause) or type(cause).__name__).splitlines()[0]
        raise ExportProblem(
            f"database.url: cannot read the register ({reason}); is the database up to "
            "date? (selfie-bot db upgrade)"
        ) from None
    zone = ZoneInfo(settings.schedule.timezone)
    erased = sum(line.status is RegisterStatus.ERASED for line in register.lines)
    summary = Summary(len(register.lines), erased)
    if out is None:
        assert stdout is not None
        write_register(stdout, register.lines, zone)
        stdout.flush()
        return summary
    counted: list[int] = []

    def write(file: IO[bytes]) -> None:
        if photos:
            counted.append(write_zip(file, register, settings.storage.path, zone))
        else:
            write_register(file, register.lines, zone)

    try:
        # Personal data: the owner's only, on disk before it takes the name.
        write_atomically(out, write, mode=PRIVATE_FILE, sync=True, suffix=".part")
    except OSError as error:
        raise ExportProblem(f"export: cannot write {out} ({error.strerror or error})") from None
    return Summary(summary.lines, erased, counted[0] if counted else None)
