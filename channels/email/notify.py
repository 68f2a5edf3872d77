"""Plain notification mail from the desk (a portal invitation, a password
reset link) through the configured relay.

Not a reply on a request, so none of the outbox's threading: a message of its
own, marked `Auto-Submitted: auto-generated` so that vacation responders do not
answer it.  The web channel never imports this module: the composition root
hands it `notifier(...)` as a plain `send_mail(to, subject, body)` callable
(DESIGN.md: channels do not import each other, except through the shared base).
A relay that refuses raises; the caller decides what the person sees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import aiosmtplib

from channels.email.settings import SmtpConfig, message_id_domain

SendMail = Callable[[str, str, str], Awaitable[None]]


def compose_notification(mail_from: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage(policy=policy.default)
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=message_id_domain(mail_from))
    message["Auto-Submitted"] = "auto-generated"
    text = body if body.endswith("\n") else body + "\n"
    # base64 keeps long link lines intact through relays that rewrap quoted-printable
    message.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    return message


async def send_notification(smtp: SmtpConfig, mail_from: str, to: str, subject: str,
                            body: str) -> None:
    mail = compose_notification(mail_from, to, subject, body)
    await aiosmtplib.send(
        mail, sender=parseaddr(mail_from)[1] or mail_from, recipients=[to],
        hostname=smtp.host, port=smtp.port, username=smtp.user or None,
        password=smtp.password or None, use_tls=smtp.tls == "ssl",
        start_tls=smtp.tls == "starttls", timeout=smtp.timeout,
    )


def notifier(smtp: Mapping[str, str], mail_from: str) -> SendMail | None:
    """`send_mail(to, subject, body)` for the configured relay; None without one."""
    if not smtp.get("host"):
        return None
    config = SmtpConfig.from_settings(smtp)

    async def send_mail(to: str, subject: str, body: str) -> None:
        await send_notification(config, mail_from, to, subject, body)

    return send_mail
