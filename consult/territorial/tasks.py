"""Territorial jobs: the reminder sent the day before an event to each registered person."""

from __future__ import annotations

from flask import current_app

from consult import jobs
from consult.db import db
from consult.territorial import services

REMINDERS = "territorial.event_reminders"


# Hourly: each event is reminded on the day before in its own time zone, from 8 a.m. there.
@jobs.periodic(REMINDERS, minute="5")
def send_event_reminders() -> None:
    session = db.session
    claimed = services.claim_reminders(session)
    # Claimed and committed first: a crash after this sends nothing twice (at most one
    # reminder lost, never one repeated).
    session.commit()
    if claimed:
        # Mail templates render with the layout's context processors, which need a request:
        # one on the site's own URL (links in the mail are built on SITE_URL anyway).
        with current_app.test_request_context("/", base_url=str(current_app.config["SITE_URL"])):
            services.deliver_reminders(session, claimed)
