"""Outgoing mail through a configurable SMTP server; written to the log when none is set.

Sending happens in a job (``mail.send``, retried by the queue when the SMTP server fails): a
slow or unreachable server never holds a web worker.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app

from consult import jobs


def outbox() -> list[EmailMessage]:
    """Messages kept in memory when sending is suppressed (tests)."""
    return current_app.extensions.setdefault("consult_outbox", [])


def send_mail(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    """Queue a message (tests run the job at once, so the outbox has it on return). ``headers``
    adds to From/To/Subject (List-Unsubscribe on notifications, for instance)."""
    jobs.enqueue("mail.send", to, subject, body, headers=headers)


# Retried five times a minute apart when the SMTP server fails; not recorded (the arguments hold
# an address and, for a reset, a secret link).
@jobs.task("mail.send", retries=5, retry_delay=60)
def deliver(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        if name.lower() in {"from", "to", "subject", "bcc", "cc"}:
            raise ValueError(f"header {name} is set by deliver itself")
        message[name] = value
    message.set_content(body)

    if config.get("MAIL_SUPPRESS_SEND"):
        outbox().append(message)
        return
    server = config.get("MAIL_SERVER")
    if not server:
        # Development: the message goes to the log so a reset link can be followed locally.
        current_app.logger.info("Mail (no MAIL_SERVER set) to %s: %s\n%s", to, subject, body)
        return
    context = ssl.create_default_context()
    port = config["MAIL_PORT"]
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(server, port, context=context, timeout=10)
    else:
        smtp = smtplib.SMTP(server, port, timeout=10)
    with smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
