"""A press on a satisfaction survey's button (a Telegram callback query).

The survey (policies.survey) went out with one inline button per score, each
carrying a signed token as its callback data (domain.survey_links).  A press
records RateSatisfaction for the resolution the token names, with the
Telegram user as the actor (sealed like every customer actor), and answers the
query so the user sees that it counted, or why not: a second rating for the
same resolution, or a survey from before the request was reopened, is refused
by the domain and that refusal is what the user reads.  A press is not a
message: nothing else is recorded, and a forged or stale token changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, CallbackQuery
from telegram.error import TelegramError

from domain.application import Ledgerdesk
from domain.errors import DomainError
from domain.requests.commands import RateSatisfaction
from domain.survey_links import CALLBACK_PREFIX, read_token

log = logging.getLogger(__name__)

THANKS = "谢谢您的评价！/ Thank you for your rating!"
UNKNOWN = "此按钮已失效。/ This button no longer works."


async def answer_survey(app: Ledgerdesk, secret_key: str, query: CallbackQuery,
                        bot: Bot) -> tuple[str, str | None, str]:
    """Record the rating a button press gives; (outcome, reference, note)."""
    data = query.data or ""
    answer = read_token(secret_key, data[len(CALLBACK_PREFIX):]) \
        if data.startswith(CALLBACK_PREFIX) else None
    if answer is None:
        await _tell(bot, query, UNKNOWN)
        return "refused", None, "not a survey answer of ours"
    try:
        await asyncio.to_thread(app.handle, RateSatisfaction(
            answer.reference, answer.score, "", actor=f"telegram:{query.from_user.id}",
            resolution=answer.resolution))
    except DomainError as error:
        await _tell(bot, query, error.message)
        return "refused", answer.reference, error.message
    await _tell(bot, query, THANKS)
    return "recorded", answer.reference, f"rated {answer.score}"


async def _tell(bot: Bot, query: CallbackQuery, text: str) -> None:
    try:
        await bot.answer_callback_query(query.id, text=text[:200])
    except TelegramError:  # the answer is a courtesy; the rating stands either way
        log.warning("answering a survey button press failed", exc_info=True)
