"""The site audit's parsing and summary (benchmarks/audit.py) on made-up tool outputs: no
Lighthouse, no Java, no browser (the audit itself: ``python -m benchmarks audit``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.audit import (
    Audit,
    FeedCheck,
    atom_problems,
    html_findings,
    json_feed_problems,
    lighthouse_run,
    markdown,
    page_kind,
    worst,
)


def lhr(best_practices: float, console_score: int) -> dict[str, Any]:
    full = {"score": 1.0, "auditRefs": [{"id": "ok", "weight": 1}]}
    return {
        "requestedUrl": "http://127.0.0.1:1/",
        "categories": {
            "performance": {
                "score": 1.0,
                "auditRefs": [{"id": "ok", "weight": 10}, {"id": "lcp-lazy-loaded", "weight": 0}],
            },
            "accessibility": full,
            "seo": full,
            "best-practices": {
                "score": best_practices,
                "auditRefs": [
                    {"id": "errors-in-console", "weight": 1},
                    {"id": "manual-one", "weight": 0},
                ],
            },
        },
        "audits": {
            "ok": {"title": "Fine", "score": 1, "scoreDisplayMode": "binary"},
            "manual-one": {"title": "By hand", "score": None, "scoreDisplayMode": "manual"},
            "lcp-lazy-loaded": {
                "title": "LCP image was lazily loaded",
                "score": 0,
                "scoreDisplayMode": "metricSavings",
                "details": {"items": [{"node": {"snippet": '<img loading="lazy">'}}]},
            },
            "errors-in-console": {
                "title": "Browser errors were logged to the console",
                "score": console_score,
                "scoreDisplayMode": "binary",
                "details": {
                    "items": [
                        {
                            "description": "Failed to load resource: 404",
                            "sourceLocation": {"url": "http://127.0.0.1:1/favicon.ico"},
                        }
                    ]
                },
            },
        },
    }


def test_lighthouse_scores_and_what_cost_points() -> None:
    run = lighthouse_run(lhr(0.96, 0), "home", "", "mobile")
    assert run.scores == {
        "performance": 100,
        "accessibility": 100,
        "best-practices": 96,
        "seo": 100,
    }
    assert run.missed() == []  # 96 >= 95
    [console] = run.failing["best-practices"]
    assert (console.id, console.weight) == ("errors-in-console", 1)
    assert console.items == ("Failed to load resource: 404 /favicon.ico",)
    [lazy] = run.failing["performance"]  # no weight, but failed: a hint
    assert lazy.id == "lcp-lazy-loaded" and lazy.items == ('<img loading="lazy">',)
    assert lighthouse_run(lhr(0.90, 0), "home", "", "mobile").missed() == ["best-practices"]


def test_several_runs_keep_each_category_s_lowest_score() -> None:
    good, bad = (lighthouse_run(lhr(s, 0), "home", "", "mobile") for s in (0.96, 0.80))
    both = worst([good, bad, good])
    assert (both.scores["best-practices"], both.every["best-practices"]) == (80, [96, 80, 96])
    assert both.failing["best-practices"] == bad.failing["best-practices"]
    assert both.missed() == ["best-practices"]
    text = markdown(Audit("today", {}, "a site", [both], [], [], []))
    assert "| **80** ✗ (96/80/96) |" in text and "(3 runs)" in text


def test_page_kinds() -> None:
    assert page_kind("index.html", "") == "home"
    assert page_kind("page/12/index.html", "") == "older listing"
    assert page_kind("trades/coiffeur-se/index.html", "") == "trade"
    assert page_kind("trades/coiffeur-se/page/4/index.html", "") == "trade older page"
    assert page_kind("centres/cfa-1/index.html", "") == "centre"
    assert page_kind("selfies/3/index.html", "") == "profile"
    assert page_kind("trades/coiffeurse/index.html", '<meta http-equiv="refresh">') == "redirect"
    assert page_kind("widget.html", "") == "widget.html"
    assert page_kind("wall/index.html", "") == "wall"
    assert page_kind("mentions-legales/index.html", "") == "mentions-legales"


def test_nu_errors_grouped_by_kind_and_wording(tmp_path: Path) -> None:
    kinds = {"selfies/1/index.html": "profile", "selfies/2/index.html": "profile"}
    kinds |= {"index.html": "home"}

    def error(page: str, value: str) -> dict[str, Any]:
        return {
            "type": "error",
            "url": (tmp_path / page).as_uri(),
            "lastLine": 41,
            "message": f"Bad value “{value}” for attribute “datetime” on element “time”.",
            "extract": f'<time datetime="{value}">',
        }

    report = {
        "messages": [
            error("selfies/1/index.html", "a"),
            error("selfies/1/index.html", "b"),
            error("selfies/2/index.html", "c"),
            {"type": "info", "subType": "warning", "url": (tmp_path / "index.html").as_uri(),
             "message": "Consider adding a lang attribute."},
        ]
    }  # fmt: skip
    home, profile = html_findings(report, tmp_path, kinds)
    assert (home.kind, home.errors, home.warnings) == (
        "home",
        [],
        ["Consider adding a lang attribute."],
    )
    [only] = profile.errors
    assert (only.file, only.line, only.files) == ("selfies/1/index.html", 41, 2)
    assert profile.files == ["selfies/1/index.html", "selfies/2/index.html"]


def test_feeds_checks() -> None:
    good = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T",
        "authors": [{"name": "A"}],
        "items": [{"id": "1", "content_html": "<p>x</p>", "tags": ["a"]}],
    }
    assert json_feed_problems(good) == []
    bad = {"version": "1", "items": [{"id": "1"}, {"id": "1", "content_text": ""}], "authors": [{}]}
    assert json_feed_problems(bad) == [
        "version '1', not https://jsonfeed.org/version/1.1",
        "no title",
        "feed: authors not a list of objects with name, url or avatar",
        "item 0: neither content_html nor content_text",
        "item 1: id '1' repeated",
    ]
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<id>u</id><title>T</title><updated>2026-01-01T00:00:00+00:00</updated>"
        b"<author><name>A</name></author><entry><id>e</id><title>E</title>"
        b'<updated>2026-01-01T00:00:00+00:00</updated><link href="http://x/1"/></entry></feed>'
    )
    assert atom_problems(atom) == (["http://x/1"], [])
    _links, problems = atom_problems(b"<feed><entry>")
    assert problems[0].startswith("bozo")


def test_summary_says_what_missed() -> None:
    run = lighthouse_run(lhr(0.90, 0), "home", "", "desktop")
    audit = Audit("today", {"Lighthouse": "1"}, "a site", [run], ["wall: none"], [],
                  [FeedCheck("feed.xml (Atom)", 0, ["no entry"])])  # fmt: skip
    assert audit.missed() == ["Lighthouse home desktop best-practices", "feed feed.xml (Atom)"]
    text = markdown(audit)
    assert "| home | `/` | desktop | 100 | 100 | **90** ✗ | 100 | MISSED |" in text
    assert "`errors-in-console`" in text and "`Failed to load resource: 404 /favicon.ico`" in text
    assert "`lcp-lazy-loaded`" in text and "wall: none" in text
