"""ArticleFeedback: one reader's answer to "did this solve it?" on one article.

One small aggregate per (article, reader), its id keyed from both, rather than
events on the article: many readers answering at once would otherwise all write
the one article stream.  A reader may change their mind (a new event); asking
again with the same answer writes nothing.  The reader is a customer's person:
their actor is personal and sealed with their customer's key; the answer and
the article are plain, so counts survive an erasure.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields


class ArticleFeedback(Aggregate):
    personal_data = PersonalData(
        owner=lambda feedback: feedback.customer_code,
        events={
            "Given": fields(plain="article_id customer_code helped", personal="reader"),
            "Changed": fields(plain="helped"),
        },
    )

    @staticmethod
    def create_id(article_id: str, reader: str, **_: object) -> UUID:
        return ids.keyed_id(f"article-feedback:{article_id}:{reader.strip().lower()}")

    @event("Given")
    def __init__(self, article_id: str, reader: str, customer_code: str, helped: bool,
                 actor: str) -> None:
        self.article_id = article_id
        self.customer_code = customer_code
        self.helped = helped

    def answer(self, helped: bool, actor: str) -> None:
        if helped != self.helped:
            self._changed(helped=helped, actor=actor)

    @event("Changed")
    def _changed(self, helped: bool, actor: str) -> None:
        self.helped = helped
