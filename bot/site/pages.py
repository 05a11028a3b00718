"""What the site holds, computed from the database's entries: pure data, no disk, no
templates, so a publication can compare the site before and after and redraw only the
pages that differ.

Pages are cut by their content, from the oldest entry: a page ends after an entry whose
id hashes to a cut (once it holds half of ``per_page``; at one and a half times
``per_page`` at most), and an older page is named after its oldest entry
(``page/<id>/``). So where the pages end depends on the entries around, not on how many
came before: a publication changes the index only (now and then it archives a page), and
removing an entry, even an old one, redraws its page and at most a neighbour or two,
never the hundreds after it. ``index.html`` holds the newest entries: the last page cut
and those published since.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime

from babel.dates import format_date

from bot.campaign.links import legacy_slug, post_link, profile_url, slugify
from bot.campaign.schedule import local_day
from bot.config import Settings
from bot.i18n import plain
from bot.photos.encode import THUMB_SIDE, thumbnail_size
from models.gallery import GalleryEntry

FEED_SIZE = 50
"""Profiles in the feeds (the newest)."""


@dataclass(frozen=True, repr=False)
class Profile:
    """One selfie as every page shows it (all its texts already decided).

    Its ``repr`` (what a page's digest is made of) is computed once: a profile is kept
    from plan to plan, and each listing page it is on repeats it."""

    id: int
    name: str
    anonymous: bool
    trade: str
    trade_slug: str
    centre: str
    centre_slug: str
    quote: str | None
    published_at: datetime
    date: str
    """``published_at`` as a visitor reads it, in the campaign's time zone."""
    channel_url: str | None
    alt: str
    thumb_width: int
    thumb_height: int
    photo_width: int
    photo_height: int
    photo_path: str
    """Source: the processed JPEG, relative to the storage path."""

    @property
    def url(self) -> str:
        """Path from the site's root."""
        return profile_url(self.id)

    @functools.cached_property
    def page_hash(self) -> int:
        """Where pages are cut: a hash, so cuts fall evenly whatever the ids."""
        return int.from_bytes(hashlib.blake2b(b"%d" % self.id, digest_size=8).digest(), "big")

    @functools.cached_property
    def _repr(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"Profile({values})"

    def __repr__(self) -> str:
        return self._repr


@dataclass(frozen=True)
class Group:
    """The selfies of one trade or one training centre."""

    kind: str
    """``trades`` or ``centres``: the folder of its pages."""
    slug: str
    name: str
    count: int

    @property
    def url(self) -> str:
        return f"{self.kind}/{self.slug}/"


@dataclass(frozen=True)
class ListingPage:
    """A page of thumbnails: the index, a trade's or a centre's page, or an older page.

    Only the first page of a listing carries counts (they change at each publication);
    the older pages carry what never changes (their group without its count), so they are
    written once.
    """

    url: str
    profiles: tuple[Profile, ...]
    group: Group | None
    first: bool
    newer: str | None
    older: str | None
    total: int | None = None
    groups: tuple[Group, ...] = ()
    """On the site's first page: every trade and centre, for the filter and the links."""


@dataclass(frozen=True)
class Plan:
    """The whole site for a list of entries."""

    profiles: tuple[Profile, ...]
    """Newest first."""
    trades: tuple[Group, ...]
    centres: tuple[Group, ...]
    listings: dict[str, ListingPage]
    """By URL."""
    sources: dict[int, GalleryEntry]
    """The entries the profiles were made from, by id."""
    members: dict[tuple[str, str], tuple[Profile, ...]] = field(default_factory=dict)
    """The profiles of each group, by (kind, slug), newest first."""
    spellings: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    """How many entries spell each group each way (the most used is shown)."""


def make_plan(
    entries: Sequence[GalleryEntry],
    settings: Settings,
    sizes: dict[int, tuple[int, int]],
    previous: Plan | None = None,
) -> Plan:
    """The site for ``entries`` (newest first); ``sizes`` gives the photo size of entries
    whose row does not hold it. The profiles of ``previous`` whose entry did not change are
    taken as they are (a publication costs one new profile, not thousands)."""
    configured = {centre.code: centre.name for centre in settings.campaign.centres}
    # One pass: each entry's group slugs, and how each group is spelled how many times.
    trade_slugs: dict[str, str] = {}
    centre_slugs: dict[tuple[str | None, str], str] = {}
    spellings: dict[tuple[str, str], Counter[str]] = {}
    for entry in entries:
        trade_slug = trade_slugs.get(entry.trade)
        if trade_slug is None:
            trade_slug = trade_slugs[entry.trade] = slugify(entry.trade)
        centre_key = entry.centre_code, entry.centre_name
        centre_slug = centre_slugs.get(centre_key)
        if centre_slug is None:
            centre_slug = centre_slugs[centre_key] = (
                entry.centre_code.lower() if entry.centre_code else slugify(entry.centre_name)
            )
        _spelled(spellings, ("trades", trade_slug), entry.trade)
        _spelled(
            spellings,
            ("centres", centre_slug),
            configured.get(entry.centre_code or "", entry.centre_name),
        )
    names = {key: counter.most_common(1)[0][0] for key, counter in spellings.items()}
    known = previous.sources if previous else {}
    reused = {p.id: p for p in previous.profiles} if previous else {}
    profiles = []
    for entry in entries:
        trade_slug = trade_slugs[entry.trade]
        centre_slug = centre_slugs[entry.centre_code, entry.centre_name]
        trade, centre = names["trades", trade_slug], names["centres", centre_slug]
        same = reused.get(entry.id)
        if same and known.get(entry.id) == entry and (same.trade, same.centre) == (trade, centre):
            profiles.append(same)
            continue
        profiles.append(_profile(entry, settings, names, sizes, same))
    # One pass: the members of each group, newest first.
    members: dict[tuple[str, str], list[Profile]] = {}
    for profile in profiles:
        for key in (("trades", profile.trade_slug), ("centres", profile.centre_slug)):
            own = members.get(key)
            if own is None:
                members[key] = [profile]
            else:
                own.append(profile)
    trades = _groups("trades", members, names)
    centres = _groups("centres", members, names)
    frozen = {key: tuple(own) for key, own in members.items()}
    listings = _listings(profiles, trades, centres, frozen, settings.gallery.per_page)
    sources = {entry.id: entry for entry in entries}
    return Plan(tuple(profiles), trades, centres, listings, sources, frozen, spellings)


def update_plan(
    previous: Plan,
    named: Sequence[GalleryEntry],
    ids: Collection[int],
    settings: Settings,
    sizes: dict[int, tuple[int, int]],
) -> Plan | None:
    """``previous`` with the entries of ``ids`` replaced by ``named`` (those of them the
    site shows now): the profiles kept, only the groups they are in paginated again, the
    other pages taken as they are. None when a group's shown name may change (a second
    spelling of it is involved): then :func:`make_plan` redraws everything."""
    configured = {centre.code: centre.name for centre in settings.campaign.centres}
    old = [previous.sources[i] for i in ids if i in previous.sources]
    spellings = dict(previous.spellings)
    touched: set[tuple[str, str]] = set()
    for entry, step in [*((e, -1) for e in old), *((e, 1) for e in named)]:
        trade_key = "trades", slugify(entry.trade)
        centre_key = (
            "centres",
            (entry.centre_code.lower() if entry.centre_code else slugify(entry.centre_name)),
        )
        centre_name = configured.get(entry.centre_code or "", entry.centre_name)
        for key, name in ((trade_key, entry.trade), (centre_key, centre_name)):
            counter = spellings[key] = Counter(spellings.get(key, ()))  # a copy
            counter[name] += step
            if counter[name] <= 0:
                del counter[name]
            if not counter:
                del spellings[key]
            elif len(counter) > 1:
                return None
            touched.add(key)
    names = {key: next(iter(spellings[key])) for key in touched if key in spellings}
    for key, name in names.items():
        before = previous.spellings.get(key)
        if before is not None and (len(before) != 1 or next(iter(before)) != name):
            return None  # the name shown changes: every profile of the group with it
    reused = {p.id: p for p in previous.profiles if p.id in ids}
    added = []
    for entry in named:
        trade_slug = slugify(entry.trade)
        centre_slug = entry.centre_code.lower() if entry.centre_code else slugify(entry.centre_name)
        same = reused.get(entry.id)
        trade, centre = names["trades", trade_slug], names["centres", centre_slug]
        if (
            same
            and previous.sources.get(entry.id) == entry
            and (same.trade, same.centre) == (trade, centre)
        ):
            added.append(same)
        else:
            added.append(
                _profile(entry, settings, {**names}, sizes, same, (trade_slug, centre_slug))
            )
    profiles = _replaced(previous.profiles, ids, added)
    members = dict(previous.members)
    for key in touched:
        mine = [
            p for p in added if (p.trade_slug if key[0] == "trades" else p.centre_slug) == key[1]
        ]
        own = _replaced(members.get(key, ()), ids, mine)
        if own:
            members[key] = own
        else:
            members.pop(key, None)
    groups = {g.kind + "/" + g.slug: g for g in (*previous.trades, *previous.centres)}
    for kind, slug in touched:
        if (kind, slug) in members:
            groups[kind + "/" + slug] = Group(
                kind, slug, names[kind, slug], len(members[kind, slug])
            )
        else:
            groups.pop(kind + "/" + slug, None)
    order = lambda g: (-g.count, g.name.casefold(), g.slug)  # noqa: E731
    trades = tuple(sorted((g for g in groups.values() if g.kind == "trades"), key=order))
    centres = tuple(sorted((g for g in groups.values() if g.kind == "centres"), key=order))
    listings = _listings(
        profiles, trades, centres, members, settings.gallery.per_page, previous.listings, touched
    )
    sources = {p.id: previous.sources[p.id] for p in profiles if p.id in previous.sources}
    sources.update((entry.id, entry) for entry in named)
    return Plan(profiles, trades, centres, listings, sources, members, spellings)


def _replaced(
    profiles: Sequence[Profile], ids: Collection[int], added: Sequence[Profile]
) -> tuple[Profile, ...]:
    """``profiles`` (newest first) without those of ``ids``, with ``added`` in place, in
    the database's order (``published_at``, then ``id``, descending)."""
    kept = [p for p in profiles if p.id not in ids]
    for profile in added:
        key = profile.published_at, profile.id
        low, high = 0, len(kept)
        while low < high:
            middle = (low + high) // 2
            if (kept[middle].published_at, kept[middle].id) > key:
                low = middle + 1
            else:
                high = middle
        kept.insert(low, profile)
    return tuple(kept)


def _listings(
    profiles: Sequence[Profile],
    trades: tuple[Group, ...],
    centres: tuple[Group, ...],
    members: dict[tuple[str, str], tuple[Profile, ...]],
    per_page: int,
    previous: dict[str, ListingPage] | None = None,
    touched: Collection[tuple[str, str]] = (),
) -> dict[str, ListingPage]:
    """Every listing page, in the site's order: the index's, then each group's; those of a
    group not ``touched`` are taken from ``previous`` as they are."""
    listings: dict[str, ListingPage] = {}
    for page in _paginate(
        "", profiles, per_page, None, total=len(profiles), groups=(*trades, *centres)
    ):
        listings[page.url] = page
    for group in (*trades, *centres):
        if previous is not None and (group.kind, group.slug) not in touched:
            kept: ListingPage | None = previous[group.url]
            while kept is not None:
                listings[kept.url] = kept
                kept = previous[kept.older] if kept.older else None
            continue
        own = members[group.kind, group.slug]
        for page in _paginate(group.url, own, per_page, group, total=group.count):
            listings[page.url] = page
    return listings


def redirects(plan: Plan) -> dict[str, str]:
    """Old URL → new URL for every listing page of a group whose slug was different before
    (:func:`bot.campaign.links.legacy_slug`), unless a group now has that URL itself."""
    moved: dict[str, str] = {}
    for (kind, slug), spellings in plan.spellings.items():
        old_slugs = {legacy_slug(name) for name in spellings if slugify(name) == slug} - {slug}
        for old_slug in old_slugs:
            if (kind, old_slug) in plan.members:
                continue
            prefix, old_prefix = f"{kind}/{slug}/", f"{kind}/{old_slug}/"
            for url in plan.listings:
                if url.startswith(prefix):
                    moved[old_prefix + url.removeprefix(prefix)] = url
    return moved


def _profile(
    entry: GalleryEntry,
    settings: Settings,
    names: dict[tuple[str, str], str],
    sizes: dict[int, tuple[int, int]],
    same: Profile | None,
    slugs: tuple[str, str] | None = None,
) -> Profile:
    """The profile of an entry (``same``: its previous one, for a photo size measured then)."""
    language = settings.gallery.language
    if slugs is None:
        slugs = (
            slugify(entry.trade),
            entry.centre_code.lower() if entry.centre_code else slugify(entry.centre_name),
        )
    trade_slug, centre_slug = slugs
    trade, centre = names["trades", trade_slug], names["centres", centre_slug]
    name = entry.display_name or plain(language, "caption.anonymous_name")
    if entry.width and entry.height:
        width, height = entry.width, entry.height
    else:  # measured now, or when the profile was first made
        width, height = sizes[entry.id] if same is None else (same.photo_width, same.photo_height)
    thumb = thumbnail_size((width, height), THUMB_SIDE)
    return Profile(
        id=entry.id,
        name=name,
        anonymous=entry.display_name is None,
        trade=trade,
        trade_slug=trade_slug,
        centre=centre,
        centre_slug=centre_slug,
        quote=entry.quote,
        published_at=entry.published_at,
        date=_long_date(local_day(settings, entry.published_at), language),
        channel_url=post_link(settings.campaign.channel, entry.channel_message_id),
        alt=plain(language, "gallery.alt", name=name, trade=trade, centre=centre),
        thumb_width=thumb[0],
        thumb_height=thumb[1],
        photo_width=width,
        photo_height=height,
        photo_path=entry.photo_path,
    )


@functools.lru_cache(maxsize=4096)
def _long_date(day: date, language: str) -> str:
    """Babel's long date ("2 mars 2026"); cached: a campaign publishes a few a day."""
    return format_date(day, "long", locale=language)


def _spelled(
    spellings: dict[tuple[str, str], Counter[str]], key: tuple[str, str], name: str
) -> None:
    """Count a spelling of a group: it shows the most used of those sharing its slug
    (``Coiffure``, ``coiffure``), the newest among equals (entries come newest first)."""
    counter = spellings.get(key)
    if counter is None:
        spellings[key] = Counter({name: 1})
    else:
        counter[name] += 1


def _groups(
    kind: str, members: dict[tuple[str, str], list[Profile]], names: dict[tuple[str, str], str]
) -> tuple[Group, ...]:
    groups = [
        Group(kind, slug, names[kind, slug], len(own))
        for (of, slug), own in members.items()
        if of == kind
    ]
    return tuple(sorted(groups, key=lambda g: (-g.count, g.name.casefold(), g.slug)))


def _paginate(
    prefix: str,
    profiles: Sequence[Profile],
    per_page: int,
    group: Group | None,
    *,
    total: int,
    groups: tuple[Group, ...] = (),
) -> list[ListingPage]:
    """``prefix`` (the first page: the newest) and ``prefix/page/<id>/`` (older pages,
    each named after its oldest entry), linked newest to oldest."""
    chunks = _chunks(profiles, per_page)
    archived = chunks[:-2]  # oldest first; the last two (the newest) make the index
    newest = tuple(profile for chunk in reversed(chunks[len(archived) :]) for profile in chunk)
    urls = [f"{prefix}page/{chunk[-1].id}/" for chunk in archived]
    pages = [
        ListingPage(
            url=prefix,
            profiles=newest,
            group=group,
            first=True,
            newer=None,
            older=urls[-1] if urls else None,
            total=total,
            groups=groups,
        )
    ]
    heading = replace(group, count=0) if group else None  # the count is the first page's
    for number in range(len(archived) - 1, -1, -1):
        pages.append(
            ListingPage(
                url=urls[number],
                profiles=archived[number],
                group=heading,
                first=False,
                newer=urls[number + 1] if number + 1 < len(urls) else prefix,
                older=urls[number - 1] if number else None,
            )
        )
    return pages


def _chunks(profiles: Sequence[Profile], per_page: int) -> list[tuple[Profile, ...]]:
    """``profiles`` (newest first) cut into pages from the oldest: the pages oldest first,
    each newest first; the last one (entries published since the last cut) may be empty."""
    shortest, longest = per_page // 2, per_page + per_page // 2
    every = per_page - shortest
    chunks: list[tuple[Profile, ...]] = []
    end = len(profiles)
    for index in range(len(profiles) - 1, -1, -1):
        size = end - index
        if size >= longest or (size >= shortest and profiles[index].page_hash % every == 0):
            chunks.append(tuple(profiles[index:end]))
            end = index
    chunks.append(tuple(profiles[:end]))
    return chunks
