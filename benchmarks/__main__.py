"""``python -m benchmarks [--quick] [--only NAME ...] [--markdown]``: print every figure.

Each line: the value, its baseline measured side by side in the same run, the ratio and
the target. ``--quick`` runs everything on tiny inputs (what the smoke test does).

``python -m benchmarks chaos [--seed N] [--apprentices N] [--kills N] [--quick]`` is the
chaos run (:mod:`benchmarks.chaos`): not a figure but checks of the bot's promises under
faults and ``kill -9``, so it is a subcommand of its own, never part of the default run.

``python -m benchmarks hostile [--corpus DIR]`` (:mod:`benchmarks.hostile`) runs the image
pipeline over hostile files, each in a child process with a time limit, and checks its
bounds on time and memory; a subcommand too.

``python -m benchmarks site --screenshots DIR`` (:mod:`benchmarks.site`) writes the
screenshots of the public site kept in ``docs/``.

``python -m benchmarks audit`` (:mod:`benchmarks.audit`) audits the public site with
Lighthouse, the Nu HTML Checker and the feeds' checks; exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import sys
import time

from benchmarks import capacity, coach, images, memory, scale, site, stats, updates
from benchmarks.common import Figure, machine, table

FIGURES = {
    "images": images.run,
    "updates": updates.run,
    "capacity": capacity.run,
    "scale": scale.run,
    "stats": stats.run,
    "memory": memory.run,
    "site": site.run,
    "coach": coach.run,
}


async def collect(names: list[str], quick: bool) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        started = time.perf_counter()
        result = FIGURES[name](quick)
        part = await result if asyncio.iscoroutine(result) else result
        figures += part
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["chaos"]:
        from benchmarks import chaos

        return chaos.main(argv[1:])
    if argv[:1] == ["site"]:
        return site.main(argv[1:])
    if argv[:1] == ["audit"]:
        from benchmarks import audit

        return audit.main(argv[1:])
    if argv[:1] == ["hostile"]:
        from benchmarks import hostile

        return hostile.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, a few seconds")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    # The emulator warns once when run without spec validation (on purpose here).
    logging.getLogger("bot.sandbox").setLevel(logging.ERROR)
    facts = machine()
    print(f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {facts['nproc']} CPUs, {facts['cpu']}, {facts['ram']} RAM")
    print(f"python {facts['python']} on {facts['os']}")
    figures = asyncio.run(collect(args.only, args.quick))
    print(table(figures, markdown=args.markdown))
    if args.markdown:
        for figure in figures:
            if figure.note:
                print(f"- {figure.name}: {figure.note}")
    missed = [f.name for f in figures if f.met is False]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
