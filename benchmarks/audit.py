"""``python -m benchmarks audit``: a third-party audit of the public site, re-runnable.

It builds a realistic campaign site (:class:`benchmarks.site.Campaign`: a few dozen
published entries with photos across several trades and centres, older pages, redirect
pages), serves it on loopback with gzip as a web server would, then runs:

- Lighthouse (the four categories) on the home page, a profile, a trade's page and
  ``wall/`` when the site has one, each as a phone (Lighthouse's default) and a desktop
  (``--preset=desktop``), in Debian's Chromium (``/usr/bin/chromium``: no browser is ever
  downloaded);
- the Nu HTML Checker (``vnu.jar``, its JSON output) on every HTML file of the site and
  its CSS, the errors grouped by kind of page;
- the feeds: Atom read by feedparser (not bozo, RFC 4287's required elements) and JSON Feed
  1.1's required fields, every item's link a page of the site.

Lighthouse and vnu-jar are pinned in ``audit/package.json`` and ``audit/package-lock.json``
and installed with ``npm ci --ignore-scripts`` into ``audit/node_modules`` (git-ignored;
the scripts are skipped so that vnu-jar never downloads a Java of its own: Debian's
``default-jre-headless`` is installed when root and ``java`` is missing).

Targets: Lighthouse >= 95 in every category and 100 in accessibility, no Nu error, valid
feeds. The summary is printed and written to ``benchmarks/audit-results.md`` (Lighthouse's
own reports, JSON and HTML, to ``audit/reports/``); the exit status is 1 when a target is
missed. Not part of the test suite nor of CI: it takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "audit"
NODE_MODULES = TOOLS / "node_modules"
LIGHTHOUSE = NODE_MODULES / "lighthouse" / "cli" / "index.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
REPORTS = TOOLS / "reports"
RESULTS = Path(__file__).with_name("audit-results.md")
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95, "seo": 95}
FORM_FACTORS = ("mobile", "desktop")
ENTRIES, PER_PAGE, TRADES = 36, 12, 6
"""The site audited: 36 entries, 12 a page (older pages), 6 trades and 36 centres."""
TEXT_TYPES = (".html", ".css", ".js", ".json", ".xml", ".txt")
"""Served compressed (when the browser asks), as nginx's or Caddy's gzip would."""
REFRESH = 'http-equiv="refresh"'
BAD_VALUE = re.compile(r"^Bad value “[^”]*”")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Failing:
    """A Lighthouse audit that cost its category points, or a failed one of no weight."""

    id: str
    title: str
    score: float | None
    weight: float
    display: str = ""
    items: tuple[str, ...] = ()
    """A few of its details' rows (the URL, element or message concerned)."""

    def line(self) -> str:
        score = "error" if self.score is None else f"{self.score:.2f}"
        extra = f", {self.display}" if self.display else ""
        weight = f"weight {self.weight:g}" if self.weight else "no weight"
        rows = "".join(f"; `{item}`" for item in self.items)
        return f"`{self.id}` {self.title} (score {score}, {weight}{extra}){rows}"


@dataclass(frozen=True)
class LighthouseRun:
    """One page in one form factor: its four scores (0-100) and what cost points."""

    page: str
    path: str
    form_factor: str
    scores: dict[str, int | None]
    failing: dict[str, list[Failing]]
    warnings: list[str] = field(default_factory=list)
    every: dict[str, list[int | None]] = field(default_factory=dict)
    """With several runs: each category's score in each run (``scores`` holds the lowest)."""

    def missed(self) -> list[str]:
        """The categories under their target."""
        return [
            category
            for category in CATEGORIES
            if (score := self.scores.get(category)) is None or score < TARGETS[category]
        ]


@dataclass(frozen=True)
class HtmlError:
    """One Nu checker error (the same message on several files of a kind counts once)."""

    kind: str
    message: str
    file: str
    line: int | None
    extract: str
    files: int = 1


@dataclass(frozen=True)
class HtmlKind:
    """The Nu checker's findings on one kind of page."""

    kind: str
    files: list[str]
    errors: list[HtmlError]
    warnings: list[str]


@dataclass(frozen=True)
class FeedCheck:
    name: str
    items: int
    problems: list[str]


@dataclass(frozen=True)
class Audit:
    """Everything measured in one run."""

    date: str
    tools: dict[str, str]
    site: str
    lighthouse: list[LighthouseRun]
    skipped: list[str]
    html: list[HtmlKind]
    feeds: list[FeedCheck]

    def missed(self) -> list[str]:
        missed = [
            f"Lighthouse {run.page} {run.form_factor} {category}"
            for run in self.lighthouse
            for category in run.missed()
        ]
        missed += [
            f"Nu {kind.kind}: {len(kind.errors)} error(s)" for kind in self.html if kind.errors
        ]
        missed += [f"feed {feed.name}" for feed in self.feeds if feed.problems]
        return missed


# --------------------------------------------------------------------------- parsing


def lighthouse_run(lhr: dict[str, Any], page: str, path: str, form_factor: str) -> LighthouseRun:
    """The scores of a Lighthouse result (its JSON ``lhr``) and, per category, its audits
    that cost points (weighted, under 1) and the unweighted ones Lighthouse's report shows
    as failed (under 0.9), the heaviest first."""
    scores: dict[str, int | None] = {}
    failing: dict[str, list[Failing]] = {}
    parts = urlsplit(str(lhr.get("requestedUrl", "")))
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    for name in CATEGORIES:
        category = lhr["categories"].get(name)
        score = None if category is None or category["score"] is None else category["score"]
        scores[name] = None if score is None else round(score * 100)
        if category is None:
            continue
        found = []
        for ref in category["auditRefs"]:
            audit = lhr["audits"][ref["id"]]
            mode, value, weight = audit["scoreDisplayMode"], audit["score"], ref["weight"]
            if mode in ("notApplicable", "manual", "informative"):
                continue
            if mode != "error" and (value is None or value >= (1 if weight else 0.9)):
                continue
            display = audit.get("displayValue") or audit.get("errorMessage") or ""
            items = (audit.get("details") or {}).get("items", [])
            rows = tuple(row for item in items if (row := _row(item, origin)))[:3]
            found.append(Failing(ref["id"], audit["title"], value, weight, str(display), rows))
        failing[name] = sorted(found, key=lambda f: (-f.weight, f.score or 0))
    warnings = [str(w) for w in lhr.get("runWarnings", [])]
    if lhr.get("runtimeError"):
        warnings.append(str(lhr["runtimeError"].get("message", lhr["runtimeError"])))
    return LighthouseRun(page, path, form_factor, scores, failing, warnings)


def worst(runs: Sequence[LighthouseRun]) -> LighthouseRun:
    """Several runs of one page and form factor as one: each category's lowest score, with
    the audits of the run that scored it (a defect seen once is a defect) and the highest."""
    scores: dict[str, int | None] = {}
    every: dict[str, list[int | None]] = {}
    failing: dict[str, list[Failing]] = {}
    for category in CATEGORIES:
        every[category] = [run.scores.get(category) for run in runs]
        known = [(v, n) for n, v in enumerate(every[category]) if v is not None]
        low = min(known) if len(known) == len(runs) else (None, every[category].index(None))
        scores[category] = low[0]
        failing[category] = runs[low[1]].failing.get(category, [])
    warnings = sorted({w for run in runs for w in run.warnings})
    first = runs[0]
    return LighthouseRun(
        first.page, first.path, first.form_factor, scores, failing, warnings, every
    )


def _row(item: Any, origin: str = "") -> str:
    """One row of an audit's details, in a few words: its message, element or URL (the
    site's ``origin`` left out), and the cause Chromium gives."""
    if not isinstance(item, dict):
        return str(item)[:160]
    parts = [str(item[key]) for key in ("description", "url") if isinstance(item.get(key), str)]
    node = item.get("node")
    if isinstance(node, dict):
        parts.append(str(node.get("snippet") or node.get("selector") or ""))
    location = item.get("sourceLocation")
    if isinstance(location, dict) and location.get("url"):
        parts.append(str(location["url"]))
    for sub in (item.get("subItems") or {}).get("items", []):
        if isinstance(sub, dict) and sub.get("cause"):
            parts.append(f"(cause: {sub['cause']})")
    text = " ".join(" ".join(parts).split())
    return (text.replace(origin, "") if origin else text)[:160]


def page_kind(relative: str, html: str) -> str:
    """The kind of a page of the site from its path (and a redirect from its content)."""
    if REFRESH in html:
        return "redirect"
    parts = relative.split("/")
    if relative == "index.html":
        return "home"
    if parts[0] == "page":
        return "older listing"
    if parts[0] in ("trades", "centres"):
        kind = "trade" if parts[0] == "trades" else "centre"
        return f"{kind} older page" if "page" in parts[2:] else kind
    if parts[0] == "selfies":
        return "profile"
    if len(parts) == 1:
        return relative
    return parts[0]


def html_findings(report: dict[str, Any], root: Path, kinds: dict[str, str]) -> list[HtmlKind]:
    """vnu's JSON report grouped by kind of page (``kinds``: relative path → kind); an
    error repeated on several files of a kind (another value, same wording) is listed once,
    with the number of files."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    where: dict[tuple[str, str], set[str]] = {}
    warnings: dict[str, set[str]] = {}
    base = root.resolve()
    for message in report.get("messages", []):
        path = Path(unquote(urlsplit(str(message.get("url", ""))).path)).resolve()
        relative = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
        kind = kinds.get(relative, relative)
        text = str(message.get("message", ""))
        if message.get("type") in ("error", "non-document-error"):
            key = kind, BAD_VALUE.sub("Bad value “…”", text)  # another page's value
            first.setdefault(key, {**message, "file": relative})
            where.setdefault(key, set()).add(relative)
        elif message.get("subType") == "warning":
            warnings.setdefault(kind, set()).add(text)
    errors: dict[str, list[HtmlError]] = {}
    for (kind, wording), message in first.items():
        errors.setdefault(kind, []).append(
            HtmlError(
                kind,
                str(message.get("message", "")),
                message["file"],
                message.get("lastLine"),
                str(message.get("extract", "")).strip(),
                len(where[kind, wording]),
            )
        )
    files: dict[str, list[str]] = {}
    for relative, kind in kinds.items():
        files.setdefault(kind, []).append(relative)
    every = sorted(files.keys() | errors.keys() | warnings.keys())
    return [
        HtmlKind(
            kind,
            sorted(files.get(kind, [])),
            errors.get(kind, []),
            sorted(warnings.get(kind, set())),
        )
        for kind in every
    ]


def atom_problems(data: bytes) -> tuple[list[str], list[str]]:
    """Atom as feed readers parse it (feedparser): not bozo, Atom 1.0, and RFC 4287's
    required elements on the feed and on each entry; (the entries' links, the problems)."""
    import feedparser  # type: ignore[import-untyped]

    parsed = feedparser.parse(data)
    problems = []
    if parsed.bozo:
        problems.append(f"bozo: {parsed.bozo_exception}")
    if parsed.version != "atom10":
        problems.append(f"version {parsed.version!r}, not atom10")
    for key in ("id", "title", "updated"):
        if not parsed.feed.get(key):
            problems.append(f"feed without {key}")
    if not parsed.feed.get("author") and not all(e.get("author") for e in parsed.entries):
        problems.append("no author on the feed nor on every entry")
    for number, entry in enumerate(parsed.entries):
        missing = [key for key in ("id", "title", "updated", "link") if not entry.get(key)]
        if missing:
            problems.append(f"entry {number}: without {', '.join(missing)}")
    return [str(entry.get("link", "")) for entry in parsed.entries], problems


def json_feed_problems(feed: Any) -> list[str]:
    """JSON Feed 1.1's required fields (https://jsonfeed.org/version/1.1): version, title,
    items; each item's id and content_html or content_text; authors' objects not empty."""
    if not isinstance(feed, dict):
        return ["not a JSON object"]
    problems = []
    if feed.get("version") != JSON_FEED_VERSION:
        problems.append(f"version {feed.get('version')!r}, not {JSON_FEED_VERSION}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append("no title")
    for key in ("home_page_url", "feed_url", "language"):
        if key in feed and not isinstance(feed[key], str):
            problems.append(f"{key} not a string")
    for where, authors in [("feed", feed.get("authors"))] + [
        (f"item {n}", item.get("authors"))
        for n, item in enumerate(feed.get("items") or [])
        if isinstance(item, dict)
    ]:
        if authors is not None and not (
            isinstance(authors, list)
            and all(isinstance(a, dict) and {"name", "url", "avatar"} & a.keys() for a in authors)
        ):
            problems.append(f"{where}: authors not a list of objects with name, url or avatar")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "no items array"]
    ids: set[str] = set()
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"item {number}: not an object")
            continue
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"item {number}: no id (a string)")
        elif item["id"] in ids:
            problems.append(f"item {number}: id {item['id']!r} repeated")
        else:
            ids.add(item["id"])
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"item {number}: neither content_html nor content_text")
        if "tags" in item and not (
            isinstance(item["tags"], list) and all(isinstance(t, str) for t in item["tags"])
        ):
            problems.append(f"item {number}: tags not a list of strings")
    return problems


def dead_links(links: Iterable[str], base_url: str, root: Path) -> list[str]:
    """Those of a feed's links that no file of the site answers."""
    from tests.support.sitehttp import locate

    dead = []
    for link in links:
        if not link.startswith(base_url):
            dead.append(f"{link}: outside the site")
            continue
        _target, status = locate(root, link.removeprefix(base_url))
        if status != 200:
            dead.append(f"{link}: {status}")
    return dead


# --------------------------------------------------------------------------- summary


def _score(value: int | None, target: int, every: Sequence[int | None] = ()) -> str:
    if value is None:
        return "n/a ✗"
    shown = f"{value}" if value >= target else f"**{value}** ✗"
    if len(set(every)) <= 1:
        return shown
    return f"{shown} ({'/'.join('n/a' if v is None else str(v) for v in every)})"


def markdown(audit: Audit) -> str:
    """The summary as Markdown: tool versions, one table per tool, each defect listed."""
    missed = audit.missed()
    lines = [
        "# Site audit (Lighthouse, Nu HTML Checker)",
        "",
        f"Run {audit.date} with `python -m benchmarks audit` (`benchmarks/audit.py`).",
        "Tools: " + ", ".join(f"{name} {version}" for name, version in audit.tools.items()) + ".",
        f"Site: {audit.site}.",
        "",
        "Targets: Lighthouse >= 95 in every category and 100 in accessibility, Nu HTML "
        "Checker 0 errors, feeds valid. "
        + ("**All met.**" if not missed else f"**{len(missed)} missed.**"),
        "",
        "## Lighthouse",
        "",
        "Each score is the lowest of the runs of its page and form factor (each run's in "
        "brackets when they differ); the audits listed are those of the run that scored it; "
        "URLs are given from the site's root.",
        "",
        "| page | path | form factor | " + " | ".join(CATEGORIES) + " | met |",
        "|---|---|---|" + "---:|" * len(CATEGORIES) + "---|",
    ]
    for run in audit.lighthouse:
        cells = [_score(run.scores.get(c), TARGETS[c], run.every.get(c, ())) for c in CATEGORIES]
        met = "yes" if not run.missed() else "MISSED"
        lines.append(
            f"| {run.page} | `/{run.path}` | {run.form_factor} | "
            + " | ".join(cells)
            + f" | {met} |"
        )
    lines += [f"- skipped: {note}" for note in audit.skipped]
    for run in audit.lighthouse:
        below = [(c, [f for f in run.failing.get(c, []) if f.weight]) for c in CATEGORIES]
        below = [(c, found) for c, found in below if run.scores.get(c) != 100]
        if not below and not run.warnings:
            continue
        count = len(next(iter(run.every.values()), [None]))
        lines += ["", f"**{run.page}, {run.form_factor}** ({count} runs)", ""]
        for category, audits in below:
            lines.append(f"- {category} ({run.scores.get(category)}):")
            lines += [f"  - {failing.line()}" for failing in audits] or ["  - (no audit listed)"]
        lines += [f"- run warning: {warning}" for warning in run.warnings]
    hints: dict[str, tuple[Failing, list[str]]] = {}
    for run in audit.lighthouse:
        for category in CATEGORIES:
            for failing in run.failing.get(category, []):
                if not failing.weight:
                    seen = hints.setdefault(failing.id, (failing, []))
                    seen[1].append(f"{run.page} {run.form_factor}")
    if hints:
        lines += [
            "",
            "Failed audits of no weight (not in the scores; Lighthouse's report shows them "
            "as failed):",
            "",
        ]
        for failing, where in hints.values():
            lines.append(f"- {failing.line()}: {', '.join(where)}")
    lines += [
        "",
        "## Nu HTML Checker",
        "",
        "| kind | files | errors | warnings | met |",
        "|---|---:|---:|---:|---|",
    ]
    for kind in audit.html:
        met = "yes" if not kind.errors else "MISSED"
        lines.append(
            f"| {kind.kind} | {len(kind.files)} | {len(kind.errors)} "
            f"| {len(kind.warnings)} | {met} |"
        )
    for kind in audit.html:
        if not kind.errors and not kind.warnings:
            continue
        lines += ["", f"**{kind.kind}** (e.g. `{kind.files[0] if kind.files else '?'}`)", ""]
        for error in kind.errors:
            place = f"`{error.file}`" + (f" line {error.line}" if error.line else "")
            also = f", and {error.files - 1} more files" if error.files > 1 else ""
            extract = " ".join(error.extract.split())
            lines.append(f"- error: {error.message} ({place}{also}): `{extract}`")
        lines += [f"- warning: {warning}" for warning in kind.warnings]
    lines += ["", "## Feeds", "", "| feed | items | problems | met |", "|---|---:|---|---|"]
    for feed in audit.feeds:
        problems = "; ".join(feed.problems) or "none"
        met = "yes" if not feed.problems else "MISSED"
        lines.append(f"| {feed.name} | {feed.items} | {problems} | {met} |")
    if missed:
        lines += ["", "## Missed", "", *(f"- {m}" for m in missed)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- tools


def _run(args: Sequence[str], cwd: Path | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip()


def install() -> dict[str, str]:
    """Java (Debian's, when root), Chromium (Debian's, when root), Lighthouse and vnu-jar
    (``npm ci`` of the lock, again only when the lock changed); their versions."""
    apt = []
    if shutil.which("java") is None:
        apt.append("default-jre-headless")
    if not os.access(CHROMIUM, os.X_OK):
        apt.append("chromium")
    if apt:
        if os.geteuid() != 0:
            raise SystemExit(f"missing: sudo apt-get install {' '.join(apt)}")
        print(f"Installing {', '.join(apt)} (Debian packages)…", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", *apt], check=True, env=env)
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("missing: Node.js and npm (Lighthouse and vnu-jar are npm packages)")
    stamp = NODE_MODULES / ".selfie-bot-lock"
    wanted = hashlib.sha256((TOOLS / "package-lock.json").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != wanted:
        print("Installing Lighthouse and vnu-jar (npm ci)…", file=sys.stderr)
        # --ignore-scripts: vnu-jar's postinstall would download a Java build of its own.
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOLS,
            check=True,
        )
        stamp.write_text(wanted)
    java = _run(["java", "-version"]).splitlines()[0]
    return {
        "Lighthouse": _run(["node", str(LIGHTHOUSE), "--version"]),
        "Nu HTML Checker (vnu-jar)": _run(["java", "-jar", str(VNU_JAR), "--version"]),
        "Chromium": _run([CHROMIUM, "--version"]).removeprefix("Chromium "),
        "Java": java.replace('"', ""),
        "Node": _run(["node", "--version"]),
        "feedparser": _version("feedparser"),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


@asynccontextmanager
async def serve_compressed(root: Path) -> AsyncIterator[str]:
    """``root`` served on a free loopback port like :func:`tests.support.sitehttp.serve_site`
    (index.html, 404.html), text compressed when the browser accepts it; yields its URL."""
    from aiohttp import web

    from tests.support.sitehttp import locate

    async def serve(request: web.Request) -> web.StreamResponse:
        target, status = locate(root, request.match_info["path"])
        if target is None:
            raise web.HTTPNotFound()
        response = web.FileResponse(target, status=status, headers={"Cache-Control": "no-cache"})
        if target.suffix in TEXT_TYPES:
            response.enable_compression()
        return response

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def lighthouse(url: str, form_factor: str, report: Path) -> dict[str, Any]:
    """Lighthouse's result for one page (``report``.report.json and .html are kept)."""
    args = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output=html",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if form_factor == "desktop":
        args.append("--preset=desktop")
    process = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    produced = report.with_name(report.name + ".report.json")
    if process.returncode != 0 or not produced.is_file():
        raise RuntimeError(f"Lighthouse failed on {url} ({form_factor}): {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(produced.read_text())
    return result


def check_html(root: Path) -> list[HtmlKind]:
    """vnu on every HTML file of the site (and its CSS), grouped by kind of page."""
    pages = sorted(root.rglob("*.html"))
    kinds = {
        page.relative_to(root).as_posix(): page_kind(
            page.relative_to(root).as_posix(), page.read_text(errors="replace")
        )
        for page in pages
    }
    styles = sorted(root.rglob("*.css"))
    done = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU_JAR),
            "--format",
            "json",
            "--exit-zero-always",
            "--also-check-css",
            *map(str, pages + styles),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stderr or done.stdout)
    for style in styles:
        kinds[style.relative_to(root).as_posix()] = "css"
    return html_findings(report, root, kinds)


def check_feeds(root: Path, base_url: str) -> list[FeedCheck]:
    atom_links, problems = atom_problems((root / "feed.xml").read_bytes())
    problems += dead_links(atom_links, base_url, root)
    count = len(atom_links)
    feed = json.loads((root / "feed.json").read_text())
    json_problems = json_feed_problems(feed)
    items = feed.get("items", []) if isinstance(feed, dict) else []
    links = [item.get("url", "") for item in items if isinstance(item, dict) and "url" in item]
    json_problems += dead_links(links, base_url, root)
    if not items:
        json_problems.append("no item")
    if not count:
        problems.append("no entry")
    return [
        FeedCheck("feed.xml (Atom)", count, problems),
        FeedCheck("feed.json (JSON Feed 1.1)", len(items), json_problems),
    ]


# --------------------------------------------------------------------------- the run


def _targets(root: Path, newest: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, path) of the pages Lighthouse opens; notes on those skipped."""
    trades = [
        page.parent.name
        for page in sorted((root / "trades").glob("*/index.html"))
        if REFRESH not in page.read_text()
    ]
    pages = [("home", ""), ("profile", f"selfies/{newest}/")]
    pages += [("trade", f"trades/{trades[0]}/")] if trades else []
    skipped = [] if trades else ["trade page: the site has none"]
    if (root / "wall" / "index.html").is_file():
        pages.append(("wall", "wall/"))
    else:
        skipped.append("wall `wall/`: not in this site yet (another branch adds it)")
    return pages, skipped


async def audit(tools: dict[str, str], reports: Path, repeat: int) -> Audit:
    from benchmarks.site import Campaign
    from models.gallery import gallery_entries

    started = datetime.datetime.now(datetime.UTC)
    base = Path(tempfile.mkdtemp(prefix="selfie-site-audit-"))
    root = base / "site"
    runs: list[LighthouseRun] = []
    try:
        async with serve_compressed(root) as url:
            campaign = Campaign(base, ENTRIES, per_page=PER_PAGE, trades=TRADES, base_url=url)
            try:
                await campaign.fill()
                await campaign.gallery().build()
                async with campaign.sessions() as session:
                    entries = await gallery_entries(session)
            finally:
                await campaign.close()
            pages, skipped = _targets(root, entries[0].id)
            for kind, path in pages:
                for form_factor in FORM_FACTORS:
                    each = []
                    for number in range(1, repeat + 1):
                        print(
                            f"Lighthouse: {kind} /{path} ({form_factor}, run {number})…",
                            file=sys.stderr,
                        )
                        name = f"{kind}-{form_factor}-{number}"
                        lhr = await lighthouse(url + path, form_factor, reports / name)
                        each.append(lighthouse_run(lhr, kind, path, form_factor))
                    runs.append(worst(each))
        print("Nu HTML Checker…", file=sys.stderr)
        html = check_html(root)
        feeds = check_feeds(root, url)
        centres = len({e.centre_code for e in entries})
        files = sum(1 for _ in root.rglob("*.html"))
        site = (
            f"{len(entries)} published entries with photos, {len({e.trade for e in entries})} "
            f"trades, {centres} centres, {PER_PAGE} a page, {files} HTML files; served with "
            "gzip on loopback (aiohttp)"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    date = f"{started:%Y-%m-%d %H:%M} UTC"
    return Audit(date, tools, site, runs, skipped, html, feeds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks audit", description=__doc__)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the Markdown summary")
    parser.add_argument("--reports", type=Path, default=REPORTS, help="Lighthouse's reports")
    parser.add_argument(
        "--runs", type=int, default=3, help="Lighthouse runs of each page and form factor"
    )
    args = parser.parse_args(argv)
    tools = install()
    args.reports.mkdir(parents=True, exist_ok=True)
    for old in args.reports.glob("*.report.*"):
        old.unlink()
    result = asyncio.run(audit(tools, args.reports, max(1, args.runs)))
    summary = markdown(result)
    print(summary)
    args.output.write_text(summary)
    print(f"written: {args.output}; Lighthouse's reports in {args.reports}/", file=sys.stderr)
    return 1 if result.missed() else 0
