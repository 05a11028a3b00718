"""Types of the data fixtures of ``tests/conftest.py``, for annotations in test modules."""

from __future__ import annotations

from typing import Any, Protocol

from models import Submission, SubmissionStatus


class AddSubmission(Protocol):
    """``await add_submission(status, **fields)``: see the ``add_submission`` fixture."""

    async def __call__(self, status: SubmissionStatus = ..., **fields: Any) -> Submission: ...
