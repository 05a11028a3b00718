"""Entity parsing of message texts and captions, so lengths are counted like Telegram does.

Telegram counts the 1-4096 (text) and 0-1024 (caption) limits *after* entity parsing: with
``parse_mode=HTML`` the tags are removed and the character references unescaped first, and
malformed markup is refused with ``Bad Request: can't parse entities: ...``. HTML is parsed
faithfully (supported tags, nesting, entities returned as MessageEntity dicts); Markdown and
MarkdownV2 are only stripped approximately (no entities, no reserved-character errors).
"""

from __future__ import annotations

import html
import re
from typing import Any

from .errors import bad_request

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^>]*)?)\s*/?>|&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|[<>&]"
)
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and MessageEntity list for ``source`` in Telegram's HTML dialect."""
    out: list[str] = []
    offset = 0  # in UTF-16 code units, as entity offsets are
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0

    def fail(reason: str, at: int) -> None:
        byte = len(source[:at].encode("utf-8"))
        raise bad_request(f"can't parse entities: {reason} at byte offset {byte}")

    for match in _TOKEN.finditer(source):
        text = source[pos : match.start()]
        out.append(text)
        offset += utf16_len(text)
        pos = match.end()
        closing, tag, attrs, ref = match.group(1), match.group(2), match.group(3), match.group(4)
        if tag is None and ref is None:
            char = match.group(0)
            if char == "<":
                fail('Unsupported start tag ""', match.start())
            out.append(char)  # a bare ">" or "&" is accepted as text
            offset += 1
            continue
        if ref is not None:
            if ref.startswith("#"):
                try:
                    char = chr(int(ref[2:], 16) if ref[1:2] in "xX" else int(ref[1:]))
                except (ValueError, OverflowError):
                    fail(f'Invalid character reference "&{ref};"', match.start())
            elif ref in _NAMED:
                char = _NAMED[ref]
            else:
                char = html.unescape(f"&{ref};")
                if char == f"&{ref};":
                    fail(f'Character entity "{ref}" is not supported', match.start())
            out.append(char)
            offset += utf16_len(char)
            continue
        tag = tag.lower()
        if tag not in _TAGS:
            kind = "end" if closing else "start"
            fail(f'Unsupported {kind} tag "{tag}"', match.start())
        if not closing:
            parsed = {
                m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                for m in _ATTR.finditer(attrs or "")
            }
            if tag == "span" and parsed.get("class") != "tg-spoiler":
                fail('Tag "span" must have class "tg-spoiler"', match.start())
            stack.append((tag, offset, parsed))
            continue
        if not stack:
            fail(f'Unexpected end tag "{tag}"', match.start())
        open_tag, start, parsed = stack.pop()
        if open_tag != tag:
            fail(f'Unmatched end tag, expected "</{open_tag}>", found "</{tag}>"', match.start())
        if offset > start:
            entity: dict[str, Any] = {"type": _TAGS[tag], "offset": start, "length": offset - start}
            if tag == "a":
                entity["url"] = parsed.get("href", "")
            if tag == "pre" and "language" in parsed:
                entity["language"] = parsed["language"]
            entities.append(entity)
    out.append(source[pos:])
    if stack:
        fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"', len(source))
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def strip_markdown(source: str, v2: bool) -> str:
    """Approximate plain text of a Markdown/MarkdownV2 string (no entities, no errors)."""
    text = _MD_LINK.sub(r"\1", source)
    if v2:
        text = re.sub(r"\\(.)", lambda m: "\0" + m.group(1), text)
        text = re.sub(r"\|\||[*_~`]", "", text)
        return text.replace("\0", "")
    return re.sub(r"[*_`]", "", text)


def parse_text(
    source: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Text as the recipient will see it, and its entities."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(source)
    if mode in ("markdown", "markdownv2"):
        return strip_markdown(source, v2=mode == "markdownv2"), []
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return source, list(entities or [])


def check_text(source: str | None, parse_mode: str | None, entities: Any) -> tuple[str, list]:
    """A message text: 1-4096 characters after entity parsing."""
    text, found = parse_text(source or "", parse_mode, entities)
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > 4096:
        raise bad_request("message is too long")
    return text, found


def check_caption(source: str | None, parse_mode: str | None, entities: Any) -> tuple[str, list]:
    """A media caption: 0-1024 characters after entity parsing."""
    text, found = parse_text(source or "", parse_mode, entities)
    if len(text) > 1024:
        raise bad_request("message caption is too long")
    return text, found
