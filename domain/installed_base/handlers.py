"""Handlers of the installed-base context."""

from __future__ import annotations

from domain import ids
from domain.aggregates.installed_product import InstalledProduct, checked_serial
from domain.commands import Handlers
from domain.customers.handlers import load_customer
from domain.errors import NotFound
from domain.installed_base.commands import (
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
