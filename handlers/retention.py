"""The daily purge of ``[retention]`` (:mod:`bot.ops.retention`), and what it means for the
running bot: answers forgotten in the database are forgotten in memory too."""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.ops.retention import PurgeReport, log_report, purge
from handlers.common import Context, services

log = logging.getLogger(__name__)


async def purge_daily(context: Context) -> None:
    report = await purge(services(context))
    log_report(report)
    forget_in_memory(context.application, report)


def forget_in_memory(application: Application, report: PurgeReport) -> None:
    """PTB keeps every user's data in memory and writes back only what changes: drop there
    what the purge removed, so it never comes back. A conversation left waiting at a step
    then meets :class:`handlers.apprentice.AnswersGone`."""
    if report.campaign_over:
        for user_id in list(application.user_data):
            application.drop_user_data(user_id)
        return
    for user_id in report.forgotten_users:
        data = application.user_data.get(user_id)
        if data is not None and data.pop("entry", None) is not None:
            application.mark_data_for_update_persistence(user_ids=[user_id])
