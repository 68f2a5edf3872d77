"""Index ids derived from personal data are keyed (issue 10, item 2), and the
users, identities and receipts of a store written before keyed ids are still
found, on SQLite and PostgreSQL.  (Not covered: a message recorded before the
upgrade and delivered again after it is recorded twice; the receipt check is
the atomic save's conflict, which only the keyed id takes part in.)"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import NAMESPACE_DNS, uuid5

import pytest

from domain import ids
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import AlreadyExists
from domain.requests.commands import InboundMessage, RecordInbound
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.keys import DatabaseKeyRing, derived


def test_ids_from_addresses_cannot_be_recomputed_without_the_key(app: Ledgerdesk) -> None:
    keyed = ids.identity_id("email", "li@acme.cn")
    assert keyed != uuid5(ids.NAMESPACE, "identity:email:li@acme.cn")
    assert keyed != uuid5(NAMESPACE_DNS, "li@acme.cn")
    assert ids.identity_id("email", " LI@acme.cn ") == keyed  # still one id per identity
    assert isinstance(app.keys, DatabaseKeyRing)
    # The key is derived from the master key, not the session secret.
    assert app.keys.index_key() != derived(b"\0" * 32, "index ids")


def test_a_store_from_before_keyed_ids_still_finds_its_users_identities_and_receipts(
    app: Ledgerdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = InboundMessage(channel="email", external_id="<old@acme.cn>", sender="li@acme.cn",
                             subject="旧邮件", body="写于升级之前",
                             occurred_at=datetime(2026, 1, 5, tzinfo=UTC))
    with monkeypatch.context() as before:
        before.setattr(ids, "keyed_id", ids.legacy_ids)  # as Ledgerdesk 0.1 wrote them
        app.handle(AddUser("agent@desk.cn", ["agent"], actor="setup"))
        app.handle(RegisterCustomer("ACME", "Acme", actor="setup",
                                    identities=[("email", "li@acme.cn")]))
        first = app.handle(RecordInbound(message))
    app.repository.cache = None  # as a new process would start

    assert app.user("agent@desk.cn").roles == ["agent"]
    assert app.authenticate_token(app.handle(IssueToken("agent@desk.cn", actor="setup")))
    with pytest.raises(AlreadyExists):
        app.handle(AddUser("agent@desk.cn", ["agent"], actor="setup"))
    # A reply to the old message finds its thread through the old receipt, and
    # its sender is the customer the old identity names.
    later = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<new@acme.cn>", sender="li@acme.cn", subject="Re: 旧邮件",
        body="升级之后", occurred_at=datetime(2026, 1, 6, tzinfo=UTC),
        thread_hints=("<old@acme.cn>",))))
    assert later.reference == first.reference
    assert later.customer_code == "ACME" and not later.new_customer
