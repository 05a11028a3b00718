"""Each benchmark runs once on tiny inputs, so that ``python -m benchmarks`` keeps working.

No timing is asserted here (machines are noisy, CI more so): only that every figure is
produced with a value, a baseline and a target. The real figures: ``python -m benchmarks``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest

from benchmarks import __main__ as cli
from benchmarks.common import Figure, table


@pytest.mark.parametrize("name", list(cli.FIGURES))
async def test_benchmark_runs_on_tiny_inputs(name: str) -> None:
    run = cli.FIGURES[name]
    result = run(True)
    figures = await result if inspect.isawaitable(result) else result
    assert figures and all(isinstance(f, Figure) for f in figures)
    for figure in figures:
        assert figure.name and figure.value
        if figure.value != "skipped":
            assert figure.baseline and figure.target
    assert figures[0].name in table(figures)


def test_command_line_quick_subset(capsys: pytest.CaptureFixture[str]) -> None:
    assert asyncio.iscoroutinefunction(cli.collect)
    sandbox_log = logging.getLogger("bot.sandbox")
    level = sandbox_log.level
    try:
        assert cli.main(["--quick", "--only", "images", "--markdown"]) == 0
    finally:  # the command quiets the emulator's log for the whole process
        sandbox_log.setLevel(level)
    out = capsys.readouterr().out
    assert "| figure | value | baseline | ratio | target | met |" in out
    assert "machine:" in out and "image" in out
