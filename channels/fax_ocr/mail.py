"""Mail from a fax-to-mail gateway (`LEDGERDESK_FAX_GATEWAY_FROM`): the fax it carries.

The email channel hands every message from a gateway's address here
(`FaxChannel.mail_hook`), with its attachments, its subject and the raw mail
it has already kept.  Such a message is a fax, never an email: each
attachment that is a fax file (by its bytes, whatever its name) is recorded
through the same intake as any other fax, and the first is the message's
record.  When none can be read (no attachment, an empty one, a damaged or
encrypted file, one over the size limit) that is a failure an agent must see,
and nothing may be lost: the message is recorded as an unread fax in the
verification queue, with the reason (`unreadable` with the damaged file kept,
or `no_fax_attached` with the raw mail kept), so the agent can open what came.
The sender's number is the gateway's own metadata: the number its subject
names ("Fax from 0755-8888-2222"), else the fax's header line.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from channels.fax_ocr.extract import header_number
from channels.fax_ocr.intake import FaxIntake, FaxUnreadable
from channels.fax_ocr.pages import UnreadableFax, kind_of
from domain.blobstore import BlobTooLarge
from domain.requests.commands import Recorded
from domain.requests.fax import NO_FAX_ATTACHED, UNREADABLE

log = logging.getLogger(__name__)


def record_fax_mail(intake: FaxIntake, attachments: Sequence[tuple[bytes, str]], subject: str,
                    raw: dict[str, Any] | None, dedupe_key: str,
                    received_at: datetime | None = None) -> Recorded:
    sender = header_number(subject)
    faxes = [(data, name) for data, name in attachments if _is_fax(data)]
    recorded: list[Recorded] = []
    for data, name in faxes:
        try:
            recorded.append(intake.record(data, name or "fax", sender, received_at).recorded)
        except FaxUnreadable as error:
            log.warning("fax mail %s: %s: %s", dedupe_key, name, error.reason)
            if error.recorded is not None:
                recorded.append(error.recorded)
        except BlobTooLarge as error:
            log.warning("fax mail %s: %s", dedupe_key, error)
    if recorded:
        return recorded[0]
    # Nothing readable arrived: the raw mail holds all that did, for an agent.
    if raw is None:  # over even the raw mail's limit: left in the mailbox, logged each pass
        raise ValueError(f"fax mail {dedupe_key} is too large to keep")
    problem = UNREADABLE if faxes else NO_FAX_ATTACHED
    external_id = "mail:" + hashlib.sha256(dedupe_key.encode()).hexdigest()
    log.warning("fax mail %s: no readable fax (%s); kept for an agent", dedupe_key, problem)
    return intake.keep_unread(raw, external_id, sender, problem, received_at)

def _is_fax(data: bytes) -> bool:
    try:
        kind_of(data)
    except UnreadableFax:
        return False
    return True
