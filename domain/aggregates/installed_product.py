"""InstalledProduct: one unit of equipment a customer owns (the installed base).

Identified by its serial number, which is unique across the desk (the ID is
derived from it, so registering a serial twice is a version-1 conflict in the
store's own write).  It records what the seeds ask of the installed base: model,
configuration, running status, install address and date, warranty end,
maintenance engineer, and changes of owner.  Repair history is not copied here:
it is the service requests that name the serial, read from the inbox view.

Dates are ISO strings (YYYY-MM-DD): events hold only plain values.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import InvalidTransition, invalid
from domain.personal import PersonalData, Rule, fields

# 运行状态: the unit's running status.
PRODUCT_STATUSES = ("in_service", "faulty", "under_repair", "retired")
SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{1,63}$")
DETAIL_FIELDS = ("model", "name", "install_address", "installed_on", "warranty_until",
                 "configuration", "maintainer")


class InstalledProduct(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).  The
    # technical facts (serial, model, dates, status) outlive an owner's erasure.
    personal_data = PersonalData(
        owner=lambda product: product.customer_code,
        events={
            "Registered": fields(
                plain="serial model configuration installed_on warranty_until maintainer "
                "customer_code",
                personal="name install_address",
            ),
            "DetailsChanged": fields(changes=Rule(keep=frozenset(
                {"model", "configuration", "installed_on", "warranty_until", "maintainer"}
            ))),
            "StatusChanged": fields(plain="from_status to_status", personal="reason"),
            "OwnerChanged": fields(plain="from_code to_code"),
            "AgreementAdded": fields(plain="code level starts_on ends_on"),
        },
    )

    @staticmethod
    def create_id(serial: str, **_: object) -> UUID:
        return ids.product_id(serial)

    @classmethod
    def register(
        cls,
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
    ) -> InstalledProduct:
        """Validates, then creates: __init__ runs again on every replay."""
        serial = checked_serial(serial)
        details = checked_details({
            "model": model, "name": name, "install_address": install_address,
            "installed_on": installed_on, "warranty_until": warranty_until,
            "configuration": configuration or {}, "maintainer": maintainer,
        })
        return cls(serial=serial, customer_code=customer_code, actor=actor, **details)

    @event("Registered")
    def __init__(
        self,
        serial: str,
        model: str,
        name: str,
        customer_code: str,
        install_address: str,
        installed_on: str | None,
        warranty_until: str | None,
        configuration: dict[str, Any],
        maintainer: str | None,
        actor: str,
    ) -> None:
        self.serial = serial
        self.customer_code = customer_code
        self.status = "in_service"
        self.details: dict[str, Any] = {
            "model": model, "name": name, "install_address": install_address,
            "installed_on": installed_on, "warranty_until": warranty_until,
            "configuration": configuration, "maintainer": maintainer,
        }

    def in_warranty(self, today: date) -> bool | None:
        """None when the warranty end is not known."""
        until = self.details.get("warranty_until")
        return None if not until else date.fromisoformat(until) >= today

    @property
    def agreements(self) -> list[dict[str, Any]]:
        # Units registered before service agreements existed have none.
        return list(self.__dict__.get("_agreements", []))

    def coverage(self, today: date) -> tuple[bool | None, str]:
        """(covered?, on what basis): a service agreement (服务协议) running today,
        else the warranty end date; None when neither says anything."""
        for agreement in self.agreements:
            if agreement["starts_on"] <= today.isoformat() <= agreement["ends_on"]:
                return True, f"agreement {agreement['code']} until {agreement['ends_on']}"
        covered = self.in_warranty(today)
        if covered is not None:
            return covered, f"warranty_until {self.details['warranty_until']}"
        if self.agreements:
            return False, "no agreement covers today"
        return None, "no coverage dates"

    def add_agreement(self, code: str, starts_on: str, ends_on: str, level: str | None,
                      actor: str) -> None:
        if any(a["code"] == code for a in self.agreements):
            raise InvalidTransition(f"{self.serial} has an agreement {code} already")
        if ends_on < starts_on:
            message = "an agreement ends on or after the day it starts"
            raise InvalidTransition(message, fields={"ends_on": message})
        self._agreement_added(code=code, level=level, starts_on=starts_on, ends_on=ends_on,
                              actor=actor)

    @event("AgreementAdded")
    def _agreement_added(self, code: str, level: str | None, starts_on: str, ends_on: str,
                         actor: str) -> None:
        self.__dict__.setdefault("_agreements", []).append(
            {"code": code, "level": level, "starts_on": starts_on, "ends_on": ends_on})

    def change_details(self, changes: dict[str, Any], actor: str) -> None:
        unknown = sorted(set(changes) - set(DETAIL_FIELDS))
        if unknown:
            raise invalid(unknown[0], f"{unknown[0]} is not a product detail")
        checked = checked_details({**self.details, **changes})
        effective = {k: checked[k] for k in changes if checked[k] != self.details.get(k)}
        if effective:
            self._details_changed(changes=effective, actor=actor)

    @event("DetailsChanged")
    def _details_changed(self, changes: dict[str, Any], actor: str) -> None:
        self.details.update(changes)

    def change_status(self, status: str, actor: str, reason: str = "") -> None:
        if status not in PRODUCT_STATUSES:
            raise invalid("status", f"status must be one of {', '.join(PRODUCT_STATUSES)}")
        if self.status == "retired":
            raise InvalidTransition(f"{self.serial} is retired")
        if status != self.status:
            self._status_changed(from_status=self.status, to_status=status, reason=reason,
                                 actor=actor)

    @event("StatusChanged")
    def _status_changed(self, from_status: str, to_status: str, reason: str, actor: str) -> None:
        self.status = to_status

    def transfer(self, to_code: str, actor: str) -> None:
        """The unit was sold on or moved to another customer's site."""
        if to_code == self.customer_code:
            raise InvalidTransition(f"{self.serial} already belongs to {to_code}")
        self._owner_changed(from_code=self.customer_code, to_code=to_code, actor=actor)

    @event("OwnerChanged")
    def _owner_changed(self, from_code: str, to_code: str, actor: str) -> None:
        self.customer_code = to_code


def checked_serial(serial: str) -> str:
    serial = (serial or "").strip()
    if not SERIAL_PATTERN.match(serial):
        raise invalid("serial", "a serial number is 2 to 64 letters, digits, '.', '_', '/' "
                                "or '-', starting with a letter or digit")
    return serial


def checked_details(details: dict[str, Any]) -> dict[str, Any]:
    model = str(details.get("model") or "").strip()
    if not model or len(model) > 100:
        raise invalid("model", "model must be 1 to 100 characters")
    configuration = details.get("configuration") or {}
    if not isinstance(configuration, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in
        configuration.items()
    ):
        raise invalid("configuration", "configuration is an object of plain values")
    return {
        "model": model,
        "name": str(details.get("name") or "").strip()[:200],
        "install_address": str(details.get("install_address") or "").strip()[:500],
        "installed_on": _checked_date(details.get("installed_on"), "installed_on"),
        "warranty_until": _checked_date(details.get("warranty_until"), "warranty_until"),
        "configuration": configuration,
        "maintainer": (str(details.get("maintainer") or "").strip() or None),
    }


def _checked_date(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(field, f"{field} must be a date like 2026-11-23") from None
