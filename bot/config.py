"""Configuration: a TOML file validated by pydantic, every problem reported by its key.

Unknown keys are errors so that a typo (``chanel = …``) never passes silently, and relative
paths are resolved against the configuration file's folder so the bot behaves the same
whatever directory it is started from.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import string
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

TOKEN_ENV = "SELFIE_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "SELFIE_BOT_WEBHOOK_SECRET"
CONFIG_ENV = "SELFIE_BOT_CONFIG"
DEFAULT_CONFIG_PATH = Path("config.toml")

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# setWebhook's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# The ports Telegram delivers webhooks to.
_WEBHOOK_PORTS = (443, 80, 88, 8443)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Telegram deep-link payloads allow A-Z, a-z, 0-9, _ and - up to 64 characters.
_CENTRE_CODE_RE = r"^[A-Za-z0-9_-]{1,64}$"


_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_NAMES = {
    3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
_RANGES = (range(60), range(24), range(1, 32), range(1, 13), range(8))
# One element of a comma list: a value or a range, and an optional step.
_ELEMENT = re.compile(r"(?P<first>\*|\w+)(?:-(?P<last>\w+))?(?:/(?P<step>\w+))?")


def check_crontab(expression: str) -> str:
    """The line as cronsim must evaluate it, or ValueError naming the field at fault."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    line = " ".join(_check_field(index, field) for index, field in enumerate(fields))
    try:
        CronSim(line, datetime(2000, 1, 1))
    except CronSimError:
        raise ValueError(f"{expression!r} never fires: none of its months has that day") from None
    return line


def _check_field(index: int, field: str) -> str:
    elements = []
    for element in field.split(","):
        match = _ELEMENT.fullmatch(element)
        if match is None:
            raise ValueError(f"bad {_FIELDS[index]} {element!r}")
        first, last, step = match.group("first", "last", "step")
        if first == "*" and last is not None:
            raise ValueError(f"bad {_FIELDS[index]} {element!r}")
        values = [_value(index, atom, element) for atom in (first, last) if atom not in ("*", None)]
        if len(values) == 2 and values[0] > values[1]:
            raise ValueError(f"bad {_FIELDS[index]} {element!r}: a range goes upwards")
        if step is not None:
            if not (step.isascii() and step.isdigit() and int(step) > 0):
                raise ValueError(f"bad {_FIELDS[index]} {element!r}: a step is a number from 1")
            if last is None and first != "*":
                raise ValueError(
                    f"bad {_FIELDS[index]} {element!r}: a step follows a range or *, "
                    f"e.g. {first}-{_RANGES[index][-1]}/{step}"
                )
            if len(values) == 2 and values[0] == values[1]:
                # cronsim reads a one-value range with a step as that value to the field's end.
                element = first
        elements.append(element)
    return ",".join(elements)


def _value(index: int, atom: str, element: str) -> int:
    """The number of a value (``5``, ``mon``, ``jan``); ValueError if it is not one."""
    names = _NAMES.get(index, ())
    if atom.lower() in names:
        return names.index(atom.lower()) + (index == 3)
    if atom.isascii() and atom.isdigit() and int(atom) in _RANGES[index]:
        return int(atom)
    valid = _RANGES[index]
    raise ValueError(
        f"bad {_FIELDS[index]} {element!r}: values are {valid[0]} to {valid[-1]}"
        + (f" or names ({names[0]}, {names[1]}…)" if names else "")
    )


CAPTION_FIELDS = frozenset({"name", "trade", "centre", "quote", "hashtags"})
"""What ``campaign.caption`` may name (:func:`bot.campaign.captions.build_caption`)."""


def bot_username(value: str) -> str:
    """A bot's username as a link needs it: without its ``@``; ValueError when it cannot
    be a Telegram username."""
    username = value.strip().removeprefix("@")
    if not _USERNAME_RE.match(username):
        raise ValueError(f"{value!r} is not a Telegram bot username (5-32 letters, digits, _)")
    return username


def template_fields(template: str) -> set[str]:
    """The ``{fields}`` a template names."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: str = ""
    api_url: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    """How updates arrive: the bot asks (getUpdates), or Telegram posts them (setWebhook)."""
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8443
    secret_token: str = Field(default="", repr=False)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if value and not _TOKEN_RE.match(value):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str) -> str:
        if value:
            check_webhook_url(value)
        return value

    @field_validator("secret_token")
    @classmethod
    def _secret_shape(cls, value: str) -> str:
        value = value.strip()
        if value and not _SECRET_RE.match(value):
            raise ValueError("1 to 256 characters among A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramSettings:
        if self.mode != "webhook":
            return self
        if not self.webhook_url:
            raise ValueError(
                'webhook_url: required when mode = "webhook" (the public HTTPS URL Telegram '
                "posts to)"
            )
        if not self.secret_token:
            raise ValueError(
                'secret_token: required when mode = "webhook" (or set the environment variable '
                f"{WEBHOOK_SECRET_ENV}); e.g. the output of: openssl rand -hex 32"
            )
        return self

    @property
    def webhook_path(self) -> str:
        """The path of ``webhook_url``: where the webhook server listens for Telegram."""
        return urlsplit(self.webhook_url).path or "/"


def check_webhook_url(value: str) -> None:
    """Telegram posts to HTTPS on ports 443, 80, 88 or 8443; plain HTTP only on loopback
    (a local Bot API server, the emulator)."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("not a valid URL (its port)") from None
    if not parts.hostname or parts.scheme not in ("https", "http") or " " in value:
        raise ValueError("must be an https:// URL such as https://bot.example.org/telegram")
    if parts.hostname in _LOOPBACK_HOSTS:
        return
    if parts.scheme != "https":
        raise ValueError("Telegram only posts to https:// URLs")
    if port is not None and port not in _WEBHOOK_PORTS:
        raise ValueError(
            f"Telegram only posts to ports {', '.join(map(str, _WEBHOOK_PORTS))}: "
            "let the reverse proxy listen on one of them"
        )


class Sector(_Section):
    sector: Annotated[str, Field(min_length=1, max_length=60)]
    trades: Annotated[list[Annotated[str, Field(min_length=2, max_length=60)]], Field(min_length=1)]


class Centre(_Section):
    code: Annotated[str, Field(pattern=_CENTRE_CODE_RE)]
    name: Annotated[str, Field(min_length=2, max_length=120)]

    @field_validator("code")
    @classmethod
    def _not_a_post_link(cls, value: str) -> str:
        if re.match(r"^post-\d+$", value):
            raise ValueError(
                "post-<number> is the deep link of a channel post: choose another code"
            )
        return value


def _check_url(value: str) -> None:
    if not re.match(r"^https?://\S+$", value):
        raise ValueError("must be an http(s) URL")


class CampaignSettings(_Section):
    name: Annotated[str, Field(min_length=1, max_length=80)] = "Fiers d'être apprentis"
    channel: str | int
    hashtags: list[Annotated[str, Field(pattern=r"^#\w+$")]] = []
    offers_url: str | None = None
    trade_offers: dict[str, str] = {}
    """A trade's own offers page, by trade name (wins over ``offers_url``)."""
    trades: list[Sector] = []
    centres: list[Centre] = []
    caption: str | None = None
    ends: date | None = None
    """Last day of the campaign: retention counts its months from it."""

    @field_validator("caption")
    @classmethod
    def _caption_fields(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            fields = template_fields(value)
        except ValueError as error:
            raise ValueError(f"not a valid template ({error})") from None
        unknown = fields - CAPTION_FIELDS
        if unknown:
            raise ValueError(
                f"unknown field {{{sorted(unknown)[0]}}}: use {', '.join(sorted(CAPTION_FIELDS))}"
            )
        return value

    @field_validator("channel")
    @classmethod
    def _channel_shape(cls, value: str | int) -> str | int:
        if isinstance(value, int) or re.match(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$", value):
            return value
        raise ValueError("must be an @username or a numeric chat id")

    @field_validator("offers_url")
    @classmethod
    def _offers_url_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        _check_url(value)
        try:
            fields = template_fields(value)
        except ValueError as error:
            raise ValueError(f"not a valid template ({error})") from None
        unknown = fields - {"trade", "trade_slug", "centre"}
        if unknown:
            raise ValueError(
                f"unknown field {{{sorted(unknown)[0]}}}: "
                "use {trade}, {trade_slug} or {centre}"
            )
        return value

    @field_validator("trade_offers")
    @classmethod
    def _trade_offers_shape(cls, value: dict[str, str]) -> dict[str, str]:
        for trade, url in value.items():
            try:
                _check_url(url)
            except ValueError as error:
                raise ValueError(f"{trade!r}: {error}") from None
        return value

    @field_validator("centres")
    @classmethod
    def _unique_codes(cls, value: list[Centre]) -> list[Centre]:
        codes = [centre.code for centre in value]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"centre codes must be unique: {', '.join(duplicates)}")
        return value


class RefusalReason(_Section):
    """A campaign-specific refusal reason, worded in both languages."""

    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,24}$")]
    fr: Annotated[str, Field(min_length=2, max_length=100)]
    en: Annotated[str, Field(min_length=2, max_length=100)]


DEFAULT_REASONS = ["blurry", "not_at_work", "inappropriate", "not_apprentice", "duplicate"]


class ModerationSettings(_Section):
    chat_id: int
    moderators: Annotated[list[int], Field(min_length=1)]
    language: Literal["fr", "en"] = "fr"
    refusal_reasons: Annotated[list[str | RefusalReason], Field(max_length=12)] = list(
        DEFAULT_REASONS
    )
    duplicate_distance: Annotated[int, Field(ge=0, le=20)] = 8
    undo_minutes: Annotated[int, Field(ge=0, le=1440)] = 15
    retry_seconds: Annotated[int, Field(ge=1, le=3600)] = 60

    @field_validator("refusal_reasons")
    @classmethod
    def _known_reasons(cls, value: list[str | RefusalReason]) -> list[str | RefusalReason]:
        unknown = [code for code in value if isinstance(code, str) and code not in DEFAULT_REASONS]
        if unknown:
            raise ValueError(
                f"unknown reason {unknown[0]!r}: use one of {', '.join(DEFAULT_REASONS)} "
                "or a table { code = …, fr = …, en = … }"
            )
        codes = [r if isinstance(r, str) else r.code for r in value]
        if len(set(codes)) != len(codes):
            raise ValueError("reason codes must be unique")
        return value

    def reason_codes(self) -> list[str]:
        return [r if isinstance(r, str) else r.code for r in self.refusal_reasons]


class ScheduleSettings(_Section):
    timezone: str = "Europe/Paris"
    cron: str = "0 9,13,18 * * *"
    per_slot: Annotated[int, Field(ge=1, le=10)] = 1
    ordering: Literal["oldest", "rotate_trades"] = "oldest"
    digest_cron: str = "0 9 * * 1"
    """When the moderators get the week's digest (empty: never)."""
    settle_after: Annotated[float, Field(ge=0, le=300)] = 10.0
    """Seconds to wait after an ambiguous send before looking for the post on the channel
    (:mod:`bot.telegram.probe`): Telegram may still be making it."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Paris)") from None
        return value

    @field_validator("cron", "digest_cron")
    @classmethod
    def _valid_cron(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "digest_cron" and not value.strip():
            return ""
        try:
            check_crontab(value)
        except ValueError as error:
            raise ValueError(
                f'not a crontab(5) line: {error} (e.g. "0 9,13,18 * * *": minute hour day '
                "month weekday)"
            ) from None
        return value


# URL prefix: the module SQLAlchemy loads for it (asyncpg only with the postgres extra).
_DRIVERS = {"sqlite+aiosqlite://": "aiosqlite", "postgresql+asyncpg://": "asyncpg"}


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/selfie-bot.sqlite3"

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        driver = next((d for prefix, d in _DRIVERS.items() if value.startswith(prefix)), None)
        if driver is None:
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        try:
            importlib.import_module(driver)
        except ImportError:
            raise ValueError(
                f"its driver, {driver}, is not installed: pip install 'selfie-bot[postgres]' "
                "(from a clone: pip install '.[postgres]')"
            ) from None
        return value


class StorageSettings(_Section):
    path: Path = Path("data/photos")


MinorsPolicy = Literal["guardian_confirmation", "refuse", "allow"]


class ApprenticeSettings(_Section):
    minors: MinorsPolicy = "guardian_confirmation"
    max_pending: Annotated[int, Field(ge=1, le=50)] = 3


class ImageSettings(_Section):
    max_pixels: Annotated[int, Field(ge=1_000_000, le=400_000_000)] = 50_000_000
    long_side: Annotated[int, Field(ge=640, le=4096)] = 1600
    min_short_side: Annotated[int, Field(ge=100, le=2000)] = 480
    jpeg_quality: Annotated[int, Field(ge=50, le=95)] = 85
    frame: Path | None = None
    band: bool = True

    @field_validator("frame", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


class CoachSettings(_Section):
    """The photo coach at the preview (:mod:`bot.campaign.coach`): hints, never refusals.

    Defaults chosen on the labelled set of ``benchmarks/coach.py`` (precision and recall
    of each hint are in ``benchmarks/RESULTS.md``).
    """

    enabled: bool = True
    blurry_below: Annotated[float, Field(ge=0, le=10_000)] = 60.0
    """Sharpness (variance of the Laplacian at 640 px) under which a photo is « floue »."""
    soft_below: Annotated[float, Field(ge=0, le=10_000)] = 150.0
    """… and under which it is « un peu floue » (a word on the card, no hint)."""
    dark_below: Annotated[float, Field(ge=0, le=1)] = 0.22
    """Mean lightness (0 black, 1 white) under which a photo is too dark."""
    burnt_above: Annotated[float, Field(ge=0, le=1)] = 0.25
    """Share of burnt-out pixels over which a photo is too bright."""
    small_face_below: Annotated[float, Field(ge=0, le=1)] = 0.12
    """The apprentice's face narrower than this share of the photo's short side is small."""
    faces_min_px: Annotated[int, Field(ge=24, le=400)] = 40
    """Faces are searched down to this width in the published photo: smaller costs more
    time per photo, and people further away are not seen."""

    @model_validator(mode="after")
    def _soft_above_blurry(self) -> CoachSettings:
        if self.soft_below < self.blurry_below:
            raise ValueError("soft_below: must be at least blurry_below")
        return self


class RetentionSettings(_Section):
    """How long personal data is kept (:mod:`bot.ops.retention` enforces it daily)."""

    draft_hours: Annotated[int, Field(ge=1, le=720)] = 48
    refused_days: Annotated[int, Field(ge=1, le=365)] = 30
    months_after_campaign: Annotated[int, Field(ge=1, le=120)] = 6
    daily_at: time = time(4, 0)
    """Local time (``schedule.timezone``) of the daily purge."""


_COLOUR = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
TEXT_CONTRAST = 4.5
"""WCAG 2.1 AA's contrast for text (success criterion 1.4.3): the least any pair of the
site's colours may have."""
PAGE = "#ffffff"
"""The site's background: links and headings in the accent colour are read on it."""


def contrast(first: str, second: str) -> float:
    """WCAG 2.1's contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


class SiteColours(_Section):
    """The site's colours: the accent (header band, links, « Voir les offres ») and the
    highlight (« Participe »), each with the colour of the text on it."""

    accent: _COLOUR = "#0b4f8a"
    on_accent: _COLOUR = "#ffffff"
    highlight: _COLOUR = "#b3400a"
    on_highlight: _COLOUR = "#ffffff"

    @model_validator(mode="after")
    def _readable(self) -> SiteColours:
        pairs = (
            ("on_accent", self.on_accent, "accent", self.accent),
            ("on_highlight", self.on_highlight, "highlight", self.highlight),
            ("accent", self.accent, "the page's white", PAGE),
        )
        for key, colour, other, background in pairs:
            ratio = contrast(colour, background)
            if ratio < TEXT_CONTRAST:
                raise ValueError(
                    f"{key}: {colour} on {other} ({background}) has a contrast of "
                    f"{ratio:.1f}:1, below the {TEXT_CONTRAST}:1 that WCAG AA asks for text"
                )
        return self


class LegalSettings(_Section):
    """What a French public website must publish (mentions légales, accessibility statement,
    privacy notice), written into the site's three legal pages."""

    publisher: str = ""
    """The body publishing the site: name, address, phone."""
    director: str = ""
    """The « directeur·rice de la publication »."""
    host: str = ""
    """The hosting provider: name, address, phone."""
    contact: str = ""
    """An e-mail address or a web page for questions, accessibility problems included."""
    dpo: str = ""
    """The data-protection officer's contact."""
    accessibility: Literal["none", "partial", "full"] = "none"
    """RGAA compliance: « non conforme » until an audit says otherwise."""
    audit: str = ""
    """The RGAA audit behind ``accessibility``: date, auditor, rate."""

    def missing(self) -> list[str]:
        """The keys still empty that the legal pages need."""
        return [
            key
            for key in ("publisher", "director", "host", "contact", "dpo")
            if not getattr(self, key).strip()
        ]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".svg")
"""What a logo or a hero image may be: what every browser shows."""


class GallerySettings(_Section):
    """The campaign's public site (:mod:`bot.site.gallery`): a static folder kept in step with
    the channel."""

    enabled: bool = False
    path: Path = Path("data/site")
    base_url: str = ""
    """Public address of the folder, for links shared elsewhere (feeds, OpenGraph, sitemap)."""
    indexable: bool = True
    language: Literal["fr", "en"] = "fr"
    per_page: Annotated[int, Field(ge=6, le=200)] = 48
    widget_count: Annotated[int, Field(ge=1, le=24)] = 6
    bot_username: str = ""
    """The bot's ``@username``: the site's « Participe » links and the walls' QR codes open
    it (a static site cannot ask Telegram). Empty: those links are left out."""

    slogan: Annotated[str, Field(max_length=120)] = ""
    """Under the campaign's name on the home page; empty: the catalog's tagline."""
    logo: Path | None = None
    """An image shown in every page's header (PNG, JPEG, WebP or SVG); none: the name."""
    hero: Path | None = None
    """The home page's header image; none: the newest selfies."""
    colours: SiteColours = SiteColours()
    legal: LegalSettings = LegalSettings()

    @field_validator("logo", "hero", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("logo", "hero")
    @classmethod
    def _an_image(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"must be an image file ({', '.join(IMAGE_SUFFIXES)})")
        return value

    @field_validator("bot_username")
    @classmethod
    def _bot_username_shape(cls, value: str) -> str:
        return bot_username(value) if value.strip() else ""

    @field_validator("base_url")
    @classmethod
    def _base_url_shape(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an http(s) URL such as https://www.example.org/selfies/")
        return value.rstrip("/") + "/" if value else ""

    @model_validator(mode="after")
    def _enabled_needs_base_url(self) -> GallerySettings:
        if self.enabled and not self.base_url:
            raise ValueError("base_url: required when the site is enabled")
        return self


class WallSettings(_Section):
    """The site's live walls (:mod:`bot.site.wall`): a screen showing the latest selfies one
    at a time, kept live by a small JSON file the page reads again every few seconds."""

    enabled: bool = True
    count: Annotated[int, Field(ge=1, le=100)] = 20
    """The latest entries a wall cycles through."""
    seconds: Annotated[int, Field(ge=3, le=60)] = 8
    """How long each entry stays on the screen."""


class MonitoringSettings(_Section):
    """``/healthz`` and ``/metrics`` over HTTP (:mod:`bot.ops.monitoring`)."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464
    """0: any free port (tests)."""


class Settings(_Section):
    telegram: TelegramSettings = TelegramSettings()
    campaign: CampaignSettings
    moderation: ModerationSettings
    schedule: ScheduleSettings = ScheduleSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    apprentices: ApprenticeSettings = ApprenticeSettings()
    images: ImageSettings = ImageSettings()
    coach: CoachSettings = CoachSettings()
    retention: RetentionSettings = RetentionSettings()
    gallery: GallerySettings = GallerySettings()
    wall: WallSettings = WallSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @property
    def token(self) -> str:
        return self.telegram.token


class ConfigError(Exception):
    """Raised with every problem found, one line each, so the operator fixes them in one go."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read, validate and resolve a configuration file; the environment's token and webhook
    secret win."""
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: file not found (copy config.example.toml to start from)"]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: not valid TOML ({error})"]) from None
    return settings_from_dict(raw, base_dir=path.resolve().parent, environ=environ)


def settings_from_dict(
    raw: dict[str, Any], *, base_dir: Path, environ: dict[str, str] | None = None
) -> Settings:
    environ = {} if environ is None else environ
    from_env = {
        key: environ.get(name, "").strip()
        for key, name in (("token", TOKEN_ENV), ("secret_token", WEBHOOK_SECRET_ENV))
    }
    from_env = {key: value for key, value in from_env.items() if value}
    if from_env:
        raw = {**raw, "telegram": {**raw.get("telegram", {}), **from_env}}
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError([_describe(item, raw) for item in error.errors()]) from None
    return _resolve_paths(settings, base_dir)


def _describe(error: Any, raw: dict[str, Any]) -> str:
    location = [str(part) for part in error["loc"]]
    key = ".".join(location)
    if error["type"] == "extra_forbidden":
        known = _known_keys(location[:-1])
        close = difflib.get_close_matches(location[-1], known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{key}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{key}: missing (required)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def _known_keys(location: list[str]) -> list[str]:
    """Field names valid at a location, to suggest the intended key for a typo."""
    model: Any = Settings
    for part in location:
        if part.isdigit():
            continue
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
            None,
        )
        if model is None:
            return []
    return list(model.model_fields)


def _resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    storage = settings.storage.path
    if not storage.is_absolute():
        storage = base_dir / storage
    url = settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        file_part = url.removeprefix(prefix)
        if file_part and file_part != ":memory:" and not Path(file_part).is_absolute():
            url = prefix + str(base_dir / file_part)
    frame = settings.images.frame
    if frame is not None and not frame.is_absolute():
        frame = base_dir / frame
    site = settings.gallery.path
    if not site.is_absolute():
        site = base_dir / site
    images = {}
    for key in ("logo", "hero"):
        image: Path | None = getattr(settings.gallery, key)
        if image is not None:
            image = image if image.is_absolute() else base_dir / image
            if not image.is_file():
                raise ConfigError([f"gallery.{key}: {image} is not a file"])
            images[key] = image
    return settings.model_copy(
        update={
            "storage": StorageSettings(path=storage),
            "database": DatabaseSettings(url=url),
            "images": settings.images.model_copy(update={"frame": frame}),
            "gallery": settings.gallery.model_copy(update={"path": site, **images}),
        }
    )


def default_config_path(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    return Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
