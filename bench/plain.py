"""Ledgerdesk without sealing: a benchmark's reference for what encrypting
personal data costs.  Never used by the product, which has no switch to store
personal data in clear."""

from __future__ import annotations

from eventsourcing.persistence import Mapper

from domain.application import Ledgerdesk


class PlainLedgerdesk(Ledgerdesk):
    def construct_mapper(self) -> Mapper:  # type: ignore[override]
        # The library's own mapper: personal fields are stored as they are.
        return Mapper(self.construct_transcoder(), compressor=self.factory.compressor())
