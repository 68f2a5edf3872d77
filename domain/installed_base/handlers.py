"""Handlers of the installed-base context."""

from __future__ import annotations

import re
from datetime import date

from domain import ids
from domain.aggregates.installed_product import InstalledProduct, checked_serial
from domain.commands import Handlers
from domain.customers.handlers import load_customer
from domain.errors import NotFound, invalid
from domain.installed_base.commands import (
    AddServiceAgreement,
    ChangeProductStatus,
    RegisterProduct,
    TransferProduct,
    UpdateProduct,
)
from domain.store import Pending, Store
from domain.users.handlers import load_user

handlers = Handlers()


def find_product(store: Store, serial: str) -> InstalledProduct | None:
    return store.get(InstalledProduct, ids.product_id(serial))


def load_product(store: Store, serial: str) -> InstalledProduct:
    product = find_product(store, checked_serial(serial))
    if product is None:
        raise NotFound(f"no product with serial {serial}")
    return product


@handlers(RegisterProduct)
def register_product(store: Store, c: RegisterProduct) -> str:
    load_customer(store, c.customer_code).require_active()
    if c.maintainer:
        load_user(store, c.maintainer)

    def attempt() -> str:
        product = InstalledProduct.register(
            serial=c.serial, model=c.model, customer_code=c.customer_code, actor=c.actor,
            name=c.name, install_address=c.install_address, installed_on=c.installed_on,
            warranty_until=c.warranty_until, configuration=c.configuration,
            maintainer=c.maintainer,
        )
        store.create(Pending([product]), f"product {product.serial} is registered already")
        return product.serial

    return store.retrying(attempt)


@handlers(UpdateProduct)
def update_product(store: Store, c: UpdateProduct) -> None:
    if c.changes.get("maintainer"):
        load_user(store, str(c.changes["maintainer"]))
    store.change(lambda: load_product(store, c.serial),
                 lambda p: p.change_details(c.changes, c.actor))


@handlers(ChangeProductStatus)
def change_product_status(store: Store, c: ChangeProductStatus) -> None:
    store.change(lambda: load_product(store, c.serial),
                 lambda p: p.change_status(c.status, c.actor, c.reason))


@handlers(TransferProduct)
def transfer_product(store: Store, c: TransferProduct) -> None:
    load_customer(store, c.to_code).require_active()
    store.change(lambda: load_product(store, c.serial), lambda p: p.transfer(c.to_code, c.actor))


AGREEMENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")


@handlers(AddServiceAgreement)
def add_service_agreement(store: Store, c: AddServiceAgreement) -> None:
    code = c.code
    if not AGREEMENT_CODE.fullmatch(code):
        raise invalid("code", "an agreement code is 1 to 40 letters, digits, '.', '_', '/' "
                              "or '-'")
    days = []
    for field, value in (("starts_on", c.starts_on), ("ends_on", c.ends_on)):
        try:
            days.append(date.fromisoformat(value).isoformat())
        except ValueError:
            raise invalid(field, f"{field} must be a date like 2026-11-23") from None
    level = (c.level or "").strip() or None
    if len(c.level or "") > 40:
        raise invalid("level", "a service level is at most 40 characters")
    store.change(lambda: load_product(store, c.serial),
                 lambda p: p.add_agreement(code, days[0], days[1], level, c.actor))
