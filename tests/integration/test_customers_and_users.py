"""Customer and user commands, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import (
    AddContact,
    AssignRepresentative,
    LinkIdentity,
    RegisterCustomer,
    RemoveContact,
    SetPreferences,
    UnlinkIdentity,
    UpdateCustomer,
)
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from domain.passwords import parse_token
from domain.users.commands import (
    AddUser,
    DeactivateUser,
    GrantRole,
    IssueToken,
    RevokeRole,
    RevokeToken,
)
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

ADMIN = "admin@example.com"


def test_register_customer_with_identities_and_find_them_again(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer(
        "ACME", "艾克美设备有限公司", actor=ADMIN, classification="key_account",
        identities=[("email", "Service@Acme.cn"), ("phone", "+86 10-8888 1234")],
    ))
    customer = app.customer("ACME")
    assert customer.name == "艾克美设备有限公司"
    assert customer.classification == "key_account"
    assert app.customer_by_identity("email", "service@acme.cn") is not None
    found = app.customer_by_identity("phone", "+86 10 88881234")
    assert found is not None and found.code == "ACME"


def test_duplicate_customer_code_is_refused_and_writes_nothing(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN))
    before = app.recorder.max_notification_id()
    with pytest.raises(AlreadyExists, match="customer ACME already exists"):
        app.handle(RegisterCustomer("ACME", "Another Acme", actor=ADMIN))
    assert app.recorder.max_notification_id() == before
    assert app.customer("ACME").name == "Acme"


def test_an_identity_belongs_to_one_customer_only(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN, identities=[("email", "a@acme.cn")]))
    with pytest.raises(AlreadyExists, match="already belongs to customer ACME"):
        app.handle(RegisterCustomer("BETA", "Beta", actor=ADMIN, identities=[("email",
                                    "A@acme.cn")]))
    with pytest.raises(NotFound):
        app.customer("BETA")  # the refused registration left nothing behind
    app.handle(RegisterCustomer("BETA", "Beta", actor=ADMIN))
    with pytest.raises(AlreadyExists):
        app.handle(LinkIdentity("BETA", "email", "a@acme.cn", actor=ADMIN))


def test_unlinked_identity_can_be_linked_to_another_customer(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN, identities=[("telegram", "424242")]))
    app.handle(RegisterCustomer("BETA", "Beta", actor=ADMIN))
    app.handle(UnlinkIdentity("ACME", "telegram", "424242", actor=ADMIN))
    assert app.customer_by_identity("telegram", "424242") is None
    app.handle(LinkIdentity("BETA", "telegram", "424242", actor=ADMIN))
    found = app.customer_by_identity("telegram", "424242")
    assert found is not None and found.code == "BETA"
    with pytest.raises(NotFound):
        app.handle(UnlinkIdentity("ACME", "telegram", "424242", actor=ADMIN))


def test_customer_refusals_name_the_field(app: Ledgerdesk) -> None:
    with pytest.raises(InvalidInput) as e:
        app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN, kind="robot"))
    assert "kind" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        app.handle(RegisterCustomer("has space", "Acme", actor=ADMIN))
    assert "code" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN, identities=[("email",
                                    "not-an-address")]))
    assert "email" in e.value.fields
    with pytest.raises(NotFound):
        app.handle(UpdateCustomer("NOPE", {"name": "x"}, actor=ADMIN))


def test_profile_contacts_preferences_and_representative(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "Acme", actor=ADMIN))
    app.handle(AddUser("rep@desk.cn", ["agent"], actor=ADMIN, name="王芳"))
    app.handle(UpdateCustomer("ACME", {"name": "Acme Ltd", "region": "华北"}, actor=ADMIN))
    contact = app.handle(AddContact("ACME", "李工", actor=ADMIN,
                                    department="设备科", phone="1390000"))
    app.handle(SetPreferences("ACME", {"language": "zh-CN", "channel": "email"}, actor=ADMIN))
    app.handle(AssignRepresentative("ACME", "rep@desk.cn", actor=ADMIN))
    customer = app.customer("ACME")
    assert customer.name == "Acme Ltd"
    assert customer.profile["region"] == "华北"
    assert customer.contacts[contact]["department"] == "设备科"
    assert customer.preferences["language"] == "zh-CN"
    assert customer.representative == "rep@desk.cn"
    app.handle(RemoveContact("ACME", contact, actor=ADMIN))
    assert app.customer("ACME").contacts == {}
    app.handle(AddUser("cust@acme.cn", ["customer"], actor=ADMIN, customer_code="ACME"))
    with pytest.raises(InvalidInput, match="not a member of staff"):
        app.handle(AssignRepresentative("ACME", "cust@acme.cn", actor=ADMIN))


def test_users_roles_passwords_and_tokens(app: Ledgerdesk) -> None:
    app.handle(AddUser("Agent@Desk.cn", ["agent"], actor=ADMIN, password="correct horse"))
    user = app.authenticate_password("agent@desk.cn", "correct horse")
    assert user.roles == ["agent"]
    with pytest.raises(PermissionDenied):
        app.authenticate_password("agent@desk.cn", "wrong password")

    token = app.handle(IssueToken("agent@desk.cn", actor=ADMIN))
    assert app.authenticate_token(token).email == "agent@desk.cn"
    # Only the hash is stored: the token text appears nowhere in the event store.
    stored = app.recorder.select_notifications(start=1, limit=1000)
    assert all(token.encode() not in n.state for n in stored)

    app.handle(GrantRole("agent@desk.cn", "manager", actor=ADMIN))
    app.handle(RevokeRole("agent@desk.cn", "agent", actor=ADMIN))
    assert app.user("agent@desk.cn").roles == ["manager"]

    parsed = parse_token(token)
    assert parsed is not None
    app.handle(RevokeToken("agent@desk.cn", parsed[1], actor=ADMIN))
    with pytest.raises(PermissionDenied):
        app.authenticate_token(token)
    with pytest.raises(PermissionDenied):
        app.authenticate_token("ld_garbage")


def test_user_refusals(app: Ledgerdesk) -> None:
    app.handle(AddUser("a@desk.cn", ["agent"], actor=ADMIN))
    with pytest.raises(AlreadyExists, match="already exists"):
        app.handle(AddUser("A@DESK.CN", ["admin"], actor=ADMIN))
    with pytest.raises(InvalidInput) as e:
        app.handle(AddUser("b@desk.cn", ["boss"], actor=ADMIN))
    assert "role" in e.value.fields
    with pytest.raises(InvalidInput, match="--customer"):
        app.handle(AddUser("c@acme.cn", ["customer"], actor=ADMIN))
    with pytest.raises(NotFound):
        app.handle(AddUser("c@acme.cn", ["customer"], actor=ADMIN, customer_code="NOPE"))
    with pytest.raises(InvalidInput) as e:
        app.handle(AddUser("d@desk.cn", ["agent"], actor=ADMIN, password="short"))
    assert "password" in e.value.fields
    with pytest.raises(InvalidTransition):
        app.handle(GrantRole("a@desk.cn", "agent", actor=ADMIN))
    with pytest.raises(NotFound):
        app.user("nobody@desk.cn")


def test_deactivated_user_cannot_authenticate(app: Ledgerdesk) -> None:
    app.handle(AddUser("a@desk.cn", ["agent"], actor=ADMIN, password="long enough"))
    token = app.handle(IssueToken("a@desk.cn", actor=ADMIN))
    app.handle(DeactivateUser("a@desk.cn", actor=ADMIN))
    with pytest.raises(PermissionDenied):
        app.authenticate_token(token)
    with pytest.raises(PermissionDenied):
        app.authenticate_password("a@desk.cn", "long enough")


def test_processes_starting_together_on_an_empty_store_all_start(store: Database) -> None:
    """Serve, email poll and workers may start at the same moment on a new
    database: each creates the tables if missing, and none may fail for it."""
    starting = threading.Barrier(6)
    started: list[Ledgerdesk] = []
    failures: list[BaseException] = []

    def start() -> None:
        starting.wait()
        try:
            started.append(Ledgerdesk(env=event_store_env(store)))
        except BaseException as e:  # reported below, with the others
            failures.append(e)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for n, app in enumerate(started):
        app.handle(RegisterCustomer(f"C{n}", f"客户 {n}", actor="admin"))
    assert {started[0].customer(f"C{n}").name for n in range(6)} == {f"客户 {n}" for n in range(6)}
    for app in started:
        app.close()


def test_one_address_given_twice_in_two_spellings_is_one_identity(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("TWICE", "Twice", actor="t",
                                identities=[("email", "Li@Acme.cn"), ("email", "li@acme.cn")]))
    assert app.customer("TWICE").identities == ["email:li@acme.cn"]
