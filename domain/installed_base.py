"""Installed-base commands, mixed into the Ledgerdesk application: registering
a customer's equipment by serial number, changing its details and running
status, and moving it to another customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.installed_product import InstalledProduct, checked_serial
from domain.errors import AlreadyExists, NotFound

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

if TYPE_CHECKING:
    from eventsourcing.application import Application

    from domain.aggregates.user import User

    _Host = Application[UUID]
else:
    _Host = object


class InstalledBaseCommands(_Host):
    """Needs the host's `save`, `customer`, `user`, `_get` and `_retrying`."""

    if TYPE_CHECKING:

        def customer(self, code: str) -> Customer: ...

        def user(self, email: str) -> User: ...

        def _retrying(self, attempt: Callable[[], T]) -> T: ...

        def _get(self, cls: type[A], aggregate_id: UUID) -> A | None: ...

    def register_product(
        self,
        serial: str,
        model: str,
        customer_code: str,
        actor: str,
        name: str = "",
        install_address: str = "",
        installed_on: str | None = None,
        warranty_until: str | None = None,
        configuration: dict[str, Any] | None = None,
        maintainer: str | None = None,
    ) -> str:
        self.customer(customer_code).require_active()
        if maintainer:
            self.user(maintainer)

        def attempt() -> str:
            product = InstalledProduct.register(
                serial=serial, model=model, customer_code=customer_code, actor=actor, name=name,
                install_address=install_address, installed_on=installed_on,
                warranty_until=warranty_until, configuration=configuration,
                maintainer=maintainer,
            )
            try:
                self.save(product)
            except IntegrityError:
                if self._find_product(product.serial) is not None:
                    raise AlreadyExists(f"product {product.serial} is registered already") from None
                raise
            return product.serial

        return self._retrying(attempt)

    def update_product(self, serial: str, changes: dict[str, Any], actor: str) -> None:
        if changes.get("maintainer"):
            self.user(str(changes["maintainer"]))
        self._change_product(serial, lambda p: p.change_details(changes, actor))

    def change_product_status(self, serial: str, status: str, actor: str, reason: str = "") -> None:
        self._change_product(serial, lambda p: p.change_status(status, actor, reason))

    def transfer_product(self, serial: str, to_code: str, actor: str) -> None:
        self.customer(to_code).require_active()
        self._change_product(serial, lambda p: p.transfer(to_code, actor))

    def product(self, serial: str) -> InstalledProduct:
        product = self._find_product(checked_serial(serial))
        if product is None:
            raise NotFound(f"no product with serial {serial}")
        return product

    def _change_product(self, serial: str, change: Callable[[InstalledProduct], None]) -> None:
        def attempt() -> None:
            product = self.product(serial)
            change(product)
            self.save(product)

        self._retrying(attempt)

    def _find_product(self, serial: str) -> InstalledProduct | None:
        return self._get(InstalledProduct, ids.product_id(serial))
