"""The portal's `Sender`: a reply on a web request is delivered by being shown.

The customer reads it on the request's page in the portal (and over the API),
so delivery is immediate; the channel id is the reply's own id.  Telling the
customer by email that an answer is waiting comes with the portal's
notifications.
"""

from __future__ import annotations

from domain.delivery import Outbound


class PortalSender:
    channel = "web"

    async def send(self, message: Outbound) -> str:
        return f"portal:{message.reply_id}"
