"""Printable QR posters: one A4 page per training centre, and a general one.

Each poster carries a QR code of the bot's deep link ``https://t.me/<bot>?start=<centre
code>``, which opens the apprentice conversation with the centre already chosen
(handlers/apprentice.py), and the same link in text for a phone that cannot scan. Drawn
as vector graphics with matplotlib's PDF backend, so the QR code's modules stay sharp at
any printer's resolution; the QR code itself is black on white with its four-module quiet
zone, the rest in blue and ink. The text stays text (matplotlib's Type 3 fonts, with their
Unicode map): a viewer can search and copy it. matplotlib and segno are imported when a
poster is drawn, so they cost the running bot no memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.campaign.links import bot_link
from bot.config import Centre, Settings, bot_username
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, plain

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties

# A4 in points (8.27 by 11.69 in at 72 pt per inch).
WIDTH, HEIGHT = 8.27 * 72, 11.69 * 72
MARGIN = 36.0  # half an inch: inside every printer's unprintable border
PADDING = 22.0
QR_QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks
QR_LARGEST = 340.0  # 12 cm: scanned from a couple of metres away

BLUE, DARK_BLUE, INK, GREY = "#1a5fa0", "#0d3c66", "#1c1c1e", "#4a5561"
PALE = "#eef4fa"
SANS, MONO = "DejaVu Sans", "DejaVu Sans Mono"  # shipped with matplotlib, all accents in

_NO_BREAK = re.compile(r" (?=[?!:;»])|(?<=«) ")
_BREAKS = re.compile(r"[ \t\n]+")  # not str.split(): a no-break space is no place to break


def deep_link(username: str, centre: Centre | None) -> str:
    """The link the QR code holds: the bot, with the centre's code as the /start payload."""
    return bot_link(bot_username(username), centre.code if centre is not None else None)


def poster_filename(centre: Centre | None, language: str = DEFAULT_LANGUAGE) -> str:
    """``poster-<code>.pdf`` (``poster.pdf`` without a centre); English ones end in
    ``.en.pdf``: a centre code has no dot, so no code can pass for another's English file."""
    stem = f"poster-{centre.code}" if centre is not None else "poster"
    return f"{stem}.pdf" if language == DEFAULT_LANGUAGE else f"{stem}.{language}.pdf"


def poster_files(settings: Settings, language: str = DEFAULT_LANGUAGE) -> dict[str, Centre | None]:
    """File name → centre of every poster of the campaign in ``language``: the general one
    first, then one per centre of ``campaign.centres``."""
    centres: list[Centre | None] = [None, *settings.campaign.centres]
    return {poster_filename(centre, language): centre for centre in centres}


def write_posters(
    settings: Settings, username: str, folder: Path, language: str = DEFAULT_LANGUAGE
) -> list[tuple[Path, Centre | None]]:
    """Write every poster of the campaign into ``folder`` (made if missing), replacing the
    files of the same names; the paths written with their centres."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, centre in poster_files(settings, language).items():
        path = folder / name
        path.write_bytes(poster_pdf(settings, username, centre, language))
        written.append((path, centre))
    return written


def poster_pdf(
    settings: Settings,
    username: str,
    centre: Centre | None,
    language: str = DEFAULT_LANGUAGE,
) -> bytes:
    """One A4 page as a PDF: the campaign, the centre, a call to action, a QR code of the
    deep link with the link under it, and the three steps from scan to publication."""
    from matplotlib.figure import Figure

    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    link = deep_link(username, centre)
    campaign = settings.campaign
    title = plain(language, "poster.title", campaign=campaign.name)
    if centre is not None:
        title = f"{title}, {centre.name}"
    figure = Figure(figsize=(WIDTH / 72, HEIGHT / 72))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, WIDTH)
    axes.set_ylim(0, HEIGHT)
    axes.set_axis_off()
    _draw(axes, campaign.name, campaign.hashtags, centre, link, language)
    buffer = io.BytesIO()
    # No creation date: the same poster gives the same bytes.
    figure.savefig(
        buffer,
        format="pdf",
        metadata={"Title": title, "Creator": "selfie-bot", "CreationDate": None},
    )
    return buffer.getvalue()


# -- layout --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """Lines of text at one size, wrapped to a width."""

    lines: list[str]
    font: FontProperties

    @property
    def size(self) -> float:
        return float(self.font.get_size_in_points())

    @property
    def height(self) -> float:
        return self.size * (1.22 * len(self.lines) - 0.22)


def _font(size: float, *, bold: bool = False, family: str = SANS) -> FontProperties:
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=family, weight="bold" if bold else "normal", size=size)


def _width(text: str, font: FontProperties) -> float:
    from matplotlib.textpath import text_to_path

    width, _, _ = text_to_path.get_text_width_height_descent(text, font, ismath=False)
    return float(width)


def _pieces(word: str, font: FontProperties, width: float) -> list[str]:
    """A word as it fits a line: whole, or cut where the line ends (a long link)."""
    if _width(word, font) <= width:
        return [word]
    pieces, piece = [], ""
    for char in word:
        if piece and _width(piece + char, font) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece]


def _wrap(text: str, font: FontProperties, width: float) -> list[str]:
    """Greedy wrap at spaces; French punctuation stays with its word (« selfie ! »)."""
    lines: list[str] = []
    line = ""
    for word in filter(None, _BREAKS.split(_NO_BREAK.sub("\u00a0", text))):
        for piece in _pieces(word, font, width):
            candidate = f"{line} {piece}" if line else piece
            if line and _width(candidate, font) > width:
                lines.append(line)
                line = piece
            else:
                line = candidate
    return [*lines, line] if line else lines


def _fit(
    text: str,
    width: float,
    sizes: Sequence[float],
    max_lines: int,
    *,
    bold: bool = False,
    family: str = SANS,
) -> _Block:
    """``text`` in as few lines of ``width`` as ``sizes`` allow, at the largest size that
    gives them, up to ``max_lines``; past that, at the smallest size in as many lines as it
    takes (a long name wraps, never overflows)."""
    fonts = [_font(size, bold=bold, family=family) for size in sizes]
    wrapped = [_Block(_wrap(text, font, width), font) for font in fonts]
    for lines in range(1, max_lines + 1):
        fitting = [block for block in wrapped if len(block.lines) <= lines]
        if fitting:
            return fitting[0]
    return wrapped[-1]


def _text(
    axes: Axes, block: _Block, x: float, top: float, color: str, align: str = "center"
) -> float:
    """Draw a block from ``top`` down; the y below it."""
    lead = block.size * 1.22
    for index, line in enumerate(block.lines):
        axes.text(
            x,
            top - block.size * 0.93 - index * lead,
            line,
            fontproperties=block.font,
            color=color,
            ha=align,
            va="baseline",
            parse_math=False,  # a "$" in a centre's name is a dollar sign
        )
    return top - block.height


def _draw(
    axes: Axes,
    campaign: str,
    hashtags: Iterable[str],
    centre: Centre | None,
    link: str,
    language: str,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    middle, inner = WIDTH / 2, WIDTH - 2 * (MARGIN + PADDING)
    top = HEIGHT - MARGIN
    name = _fit(campaign, inner, (36, 32, 28, 24, 20), 2, bold=True)
    tags = _fit(" ".join(hashtags), inner, (18, 16, 14, 12), 2)
    band_height = PADDING + name.height + (10 + tags.height if tags.lines else 0) + PADDING
    axes.add_patch(
        FancyBboxPatch(
            (MARGIN, top - band_height),
            WIDTH - 2 * MARGIN,
            band_height,
            boxstyle="round,pad=0,rounding_size=14",
            facecolor=BLUE,
            edgecolor="none",
        )
    )
    below = _text(axes, name, middle, top - PADDING, "white")
    if tags.lines:
        _text(axes, tags, middle, below - 10, "#e8f1fb")
    cursor = top - band_height - 22
    if centre is not None:
        place = _fit(centre.name, inner, (28, 24, 20, 17), 3, bold=True)
        cursor = _text(axes, place, middle, cursor, DARK_BLUE) - 14
    call = _fit(plain(language, "poster.call"), inner, (22, 20, 18), 2, bold=True)
    cursor = _text(axes, call, middle, cursor, INK)

    steps_top = _draw_steps(axes, language)
    label = _fit(plain(language, "poster.link"), inner, (11, 10), 2)
    url = _fit(link, inner, (15, 14, 13, 12, 11, 10, 9), 1, family=MONO)
    link_height = 6 + label.height + 4 + url.height
    room = cursor - steps_top - 2 * 12
    size = min(QR_LARGEST, room - link_height)
    spare = room - link_height - size
    qr_top = cursor - 12 - spare / 2
    _draw_qr(axes, link, middle - size / 2, qr_top - size, size)
    below = _text(axes, label, middle, qr_top - size - 6, GREY)
    _text(axes, url, middle, below - 4, INK)


def _draw_steps(axes: Axes, language: str) -> float:
    """The three steps in a pale box at the foot of the page; the y of the box's top."""
    from matplotlib.patches import Circle, FancyBboxPatch

    steps = [
        plain(language, "poster.step.scan"),
        plain(language, "poster.step.selfie"),
        plain(language, "poster.step.published"),
    ]
    radius, gap = 14.0, 12.0
    left = MARGIN + PADDING
    text_left = left + 2 * radius + gap
    width = WIDTH - MARGIN - PADDING - text_left
    blocks = [_fit(step, width, (15,), 2) for step in steps]  # alike, wrapped
    heights = [max(2 * radius, block.height) for block in blocks]
    box_height = 2 * PADDING + sum(heights) + gap * (len(steps) - 1)
    bottom = MARGIN
    axes.add_patch(
        FancyBboxPatch(
            (MARGIN, bottom),
            WIDTH - 2 * MARGIN,
            box_height,
            boxstyle="round,pad=0,rounding_size=14",
            facecolor=PALE,
            edgecolor="none",
        )
    )
    cursor = bottom + box_height - PADDING
    for number, (block, height) in enumerate(zip(blocks, heights, strict=True), start=1):
        centre_y = cursor - height / 2
        axes.add_patch(Circle((left + radius, centre_y), radius, facecolor=BLUE))
        axes.text(
            left + radius,
            centre_y,
            str(number),
            fontproperties=_font(15, bold=True),
            color="white",
            ha="center",
            va="center_baseline",
        )
        _text(axes, block, text_left, centre_y + block.height / 2, INK, align="left")
        cursor -= height + gap
    return bottom + box_height


def _draw_qr(axes: Axes, link: str, x: float, y: float, size: float) -> None:
    """The QR code of ``link`` in a ``size`` square whose lower left corner is (x, y),
    quiet zone included: one filled path of black runs, so no seam shows between modules."""
    import segno
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as Outline

    rows = [list(row) for row in segno.make(link, error="m", micro=False).matrix_iter(border=0)]
    module = size / (len(rows) + 2 * QR_QUIET_ZONE)
    vertices: list[tuple[float, float]] = []
    for index, row in enumerate(rows):
        top = y + size - (QR_QUIET_ZONE + index) * module
        for start, end in _dark_runs(row):
            left = x + (QR_QUIET_ZONE + start) * module
            right = x + (QR_QUIET_ZONE + end) * module
            bottom = top - module
            vertices += [(left, bottom), (right, bottom), (right, top), (left, top), (left, bottom)]
    codes = [Outline.MOVETO, *[Outline.LINETO] * 3, Outline.CLOSEPOLY] * (len(vertices) // 5)
    axes.add_patch(
        PathPatch(Outline(vertices, codes), facecolor="black", edgecolor="none", linewidth=0)
    )


def _dark_runs(row: Sequence[Any]) -> list[tuple[int, int]]:
    """(start, end) of each run of dark modules in a row of the matrix."""
    runs, start = [], None
    for index, dark in enumerate([*row, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            runs.append((start, index))
            start = None
    return runs
