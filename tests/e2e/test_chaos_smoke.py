"""The quick chaos run (``python -m benchmarks chaos --quick --seed 1``), in this process.

The bot runs in its own process, SIGKILLed again and again, while 20 % of its Bot API calls
fail, its SQLite file is locked by another process for longer than its busy time-out, and
Telegram goes away for longer than its polling time-out (see :mod:`benchmarks.chaos`).
Nothing here is timed: the four figures are counted once the run has settled (every entry
decided, every removal done) and the bot has stopped, so a slow machine makes the run
longer, never different.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import chaos

AMBIGUOUS = ("500", "502", "timeout", "drop")
"""The faults after which Telegram may have carried the call out (the answer lost)."""


async def test_quick_chaos_run_keeps_the_three_promises(tmp_path: Path) -> None:
    report = await chaos.run(chaos.Plan.quick(seed=1), workdir=tmp_path)
    summary = "\n".join(report.lines())

    assert report.tally.kills >= 5, summary
    faults = report.tally.faults
    for kind in chaos.FAULT_KINDS:
        assert faults[(kind, False)] > 0, f"no {kind} fault\n{summary}"
    for kind in AMBIGUOUS:
        assert faults[(kind, True)] > 0, f"no {kind} fault carried out\n{summary}"
    assert faults[("400", False)] > 0, f"the channel never refused a post\n{summary}"
    assert report.tally.kicks == 2 and report.tally.travelled, summary
    assert len(report.tally.db_outages) >= 1, f"no database outage\n{summary}"
    assert len(report.tally.telegram_outages) >= 1, f"no Telegram outage\n{summary}"

    assert report.counts["submitted"] == report.plan.apprentices, summary
    assert report.counts["erased"] > 0, summary
    assert not report.gave_up, summary
    for figure, items in report.findings.figures.items():
        assert items == [], f"{figure}: {len(items)}\n{summary}"
    assert not report.still_waiting, summary
    # The sends whose answer was lost: the bot settles them itself, all but those it might
    # not look for at all (a send while it was kicked from the channel: the moderators', by
    # design), which the summary counts apart.
    share = report.settled_share
    assert share is None or share >= 0.9, summary
