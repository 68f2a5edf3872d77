"""The web chat's `Sender`: a reply reaches the open chat panel, or the
customer's email when they have left.

The panel shows the request's conversation itself (it reads the timeline), so
"delivering" to a present customer is recording that it was shown; a customer
who closed the page gets the reply by email when they gave an address, and a
reply nobody can receive is a final failure the inbox shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from domain.delivery import DeliveryError, Outbound, Sender
from projections.chat_presence import ChatPresence


class ChatSender:
    channel = "chat"

    def __init__(self, email: Sender | None, email_of: Callable[[str], str | None]) -> None:
        self.email = email
        self.email_of = email_of  # customer code -> their email address, if any
        self.presence: ChatPresence | None = None  # set by the runtime that delivers

    async def send(self, message: Outbound) -> str:
        presence = self.presence
        if presence is not None and await asyncio.to_thread(presence.present,
                                                            message.reference):
            return f"chat:{message.reply_id}"
        address = await asyncio.to_thread(self.email_of, message.customer_code)
        if self.email is None or address is None:
            raise DeliveryError("the customer left the chat and cannot be reached by email",
                                final=True)
        return await self.email.send(replace(message, channel="email", recipient=address))
