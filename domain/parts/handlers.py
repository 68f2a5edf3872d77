"""Handlers of the spare-parts context.  Admins manage the stock (receive); admins
and coordinators issue parts to an engineer for a request; returns are taken
by the same people (the engineer hands the part back at the counter)."""

from __future__ import annotations

from domain import ids
from domain.aggregates.part_stock import (
    CONDITIONS,
    PartStock,
    checked_sku,
    checked_warehouse,
    part_stock_id,
)
from domain.commands import Handlers
from domain.errors import InvalidTransition, NotFound, invalid
from domain.parts.commands import IssueParts, ReceiveParts, ReturnParts
from domain.requests.lookup import load_request
from domain.store import Store
from domain.users.handlers import load_user
from domain.vocabulary import require_one_of

handlers = Handlers()

MAX_QTY = 100_000
MAX_LABEL = 200


def find_stock(store: Store, sku: str) -> PartStock | None:
    return store.get(PartStock, part_stock_id(sku))


def load_stock(store: Store, sku: str) -> PartStock:
    stock = find_stock(store, checked_sku(sku))
    if stock is None:
        raise NotFound(f"no part {sku!r} in the store")
    return stock


def checked_qty(qty: int) -> int:
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= MAX_QTY:
        raise invalid("qty", f"qty is a whole number from 1 to {MAX_QTY:,}")
    return qty


def engineer_email(store: Store, engineer: str) -> str:
    try:
        user = load_user(store, engineer)
    except NotFound:
        raise NotFound(f"there is no engineer {engineer!r}") from None
    if "engineer" not in user.roles or not user.active:
        raise InvalidTransition(f"{user.email} is not an active engineer",
                                fields={"engineer": "not an active engineer"})
    return user.email


@handlers(ReceiveParts)
def receive_parts(store: Store, c: ReceiveParts) -> None:
    sku, warehouse, qty = checked_sku(c.sku), checked_warehouse(c.warehouse), checked_qty(c.qty)

    def attempt() -> None:
        stock = find_stock(store, sku) or PartStock(sku=sku, actor=c.actor)
        stock.receive(warehouse, qty, c.actor)
        store.save(stock)

    store.retrying(attempt)


@handlers(IssueParts)
def issue_parts(store: Store, c: IssueParts) -> None:
    sku, warehouse, qty = checked_sku(c.sku), checked_warehouse(c.warehouse), checked_qty(c.qty)
    engineer = engineer_email(store, c.engineer)
    if not ids.REFERENCE_PATTERN.match(c.reference or ""):
        raise invalid("reference", "reference is the request the parts are for (SR-…)")
    load_request(store, c.reference)
    store.change(lambda: load_stock(store, sku),
                 lambda s: s.issue(warehouse, engineer, qty, c.reference, c.actor))


@handlers(ReturnParts)
def return_parts(store: Store, c: ReturnParts) -> None:
    sku, warehouse, qty = checked_sku(c.sku), checked_warehouse(c.warehouse), checked_qty(c.qty)
    require_one_of(c.condition, CONDITIONS, "condition")
    engineer = engineer_email(store, c.engineer)
    label = c.fault_label.strip()
    if len(c.fault_label) > MAX_LABEL:
        raise invalid("fault_label", "a fault label is at most 200 characters")
    reference = (c.reference or "").strip() or None
    if reference is not None:
        load_request(store, reference)
    store.change(lambda: load_stock(store, sku),
                 lambda s: s.return_parts(warehouse, engineer, qty, c.condition, label,
                                          reference, c.actor))
