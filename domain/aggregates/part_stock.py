"""PartStock: one spare part (SKU) in the spare-parts store (备件库, seed 002).

One aggregate per SKU, its id derived from the SKU, holding the quantity on the
shelf per warehouse, the faulty (returned, labelled) parts per warehouse, and
what each engineer holds for each request.  Every change is checked against
that state in the same write, so stock never goes negative even when two
people issue the last part at once (the loser retries on fresh state and is
refused).

Events (topic `domain.aggregates.part_stock:PartStock.<Name>`; each also has
`actor` and `timestamp`; nothing here is personal: staff and parts):

- `Created` — sku (first receipt creates the aggregate; `Received` follows).
- `Received` — warehouse, qty.
- `Issued` — warehouse, engineer, qty, reference (the request it is for).
- `Returned` — warehouse, engineer, qty, condition (unused|faulty), fault_label,
  reference (or None).  Unused parts go back on the shelf and off the engineer;
  faulty ones (the old part taken out of a unit, with its 旧件标签) go to the
  warehouse's faulty stock.
- `Consumed` — engineer, reference, warehouse, qty, faulty_serials: used in a
  repair, recorded with the service report (FieldJob.ReportFiled) in one write.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, invalid
from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

# A SKU is also a path segment (/parts/{sku}): no '/'.
SKU_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
WAREHOUSE_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
CONDITIONS = ("unused", "faulty")


class NotInStock(InvalidTransition):
    """More parts asked for than there are (422): stock never goes negative."""

    code = "not_in_stock"


def normalise_sku(sku: str) -> str:
    return (sku or "").strip().upper()


def checked_sku(sku: str) -> str:
    sku = normalise_sku(sku)
    if not SKU_SHAPE.fullmatch(sku):
        raise invalid("sku", "a part number (SKU) is 1 to 64 letters, digits, '.', '_' or "
                             "'-', starting with a letter or digit")
    return sku


def checked_warehouse(warehouse: str) -> str:
    warehouse = (warehouse or "").strip().upper()
    if not WAREHOUSE_SHAPE.fullmatch(warehouse):
        raise invalid("warehouse", "a warehouse code is 1 to 32 letters, digits, '.', '_' "
                                   "or '-'")
    return warehouse


def part_stock_id(sku: str) -> UUID:
    return uuid5(NAMESPACE, f"part-stock:{normalise_sku(sku)}")


class PartStock(Aggregate):
    personal_data = PersonalData(
        owner=lambda stock: None,
        unowned_in_clear=True,
        events={
            "Created": fields(plain="sku"),
            "Received": fields(plain="warehouse qty"),
            "Issued": fields(plain="warehouse engineer qty reference"),
            "Returned": fields(plain="warehouse engineer qty condition fault_label reference"),
            "Consumed": fields(plain="engineer reference warehouse qty faulty_serials"),
        },
    )

    @staticmethod
    def create_id(sku: str, **_: object) -> UUID:
        return part_stock_id(sku)

    @event("Created")
    def __init__(self, sku: str, actor: str) -> None:
        self.sku = sku
        self.stock: dict[str, int] = {}
        self.faulty: dict[str, int] = {}
        # engineer -> reference -> qty held
        self.held: dict[str, dict[str, int]] = {}

    def held_by(self, engineer: str, reference: str | None = None) -> int:
        mine = self.held.get(engineer, {})
        return mine.get(reference, 0) if reference is not None else sum(mine.values())

    def receive(self, warehouse: str, qty: int, actor: str) -> None:
        self._received(warehouse=warehouse, qty=qty, actor=actor)

    @event("Received")
    def _received(self, warehouse: str, qty: int, actor: str) -> None:
        self.stock[warehouse] = self.stock.get(warehouse, 0) + qty

    def issue(self, warehouse: str, engineer: str, qty: int, reference: str,
              actor: str) -> None:
        have = self.stock.get(warehouse, 0)
        if qty > have:
            raise NotInStock(f"only {have} of {self.sku} in {warehouse}; cannot issue {qty}",
                             fields={"qty": f"at most {have}"})
        self._issued(warehouse=warehouse, engineer=engineer, qty=qty, reference=reference,
                     actor=actor)

    @event("Issued")
    def _issued(self, warehouse: str, engineer: str, qty: int, reference: str,
                actor: str) -> None:
        self.stock[warehouse] = self.stock.get(warehouse, 0) - qty
        mine = self.held.setdefault(engineer, {})
        mine[reference] = mine.get(reference, 0) + qty

    def return_parts(self, warehouse: str, engineer: str, qty: int, condition: str,
                     fault_label: str, reference: str | None, actor: str) -> None:
        if condition == "unused":
            have = self.held_by(engineer, reference)
            if qty > have:
                where = f" for {reference}" if reference else ""
                raise NotInStock(f"{engineer} holds {have} of {self.sku}{where}; cannot "
                                 f"return {qty} unused", fields={"qty": f"at most {have}"})
        elif not fault_label.strip():
            message = "a faulty part comes back with its fault label (旧件标签)"
            raise InvalidTransition(message, fields={"fault_label": message})
        self._returned(warehouse=warehouse, engineer=engineer, qty=qty, condition=condition,
                       fault_label=fault_label, reference=reference, actor=actor)

    @event("Returned")
    def _returned(self, warehouse: str, engineer: str, qty: int, condition: str,
                  fault_label: str, reference: str | None, actor: str) -> None:
        if condition == "faulty":
            self.faulty[warehouse] = self.faulty.get(warehouse, 0) + qty
            return
        self.stock[warehouse] = self.stock.get(warehouse, 0) + qty
        self._take_from(engineer, reference, qty)

    def consume(self, engineer: str, reference: str, warehouse: str, qty: int,
                faulty_serials: list[str], actor: str) -> None:
        have = self.held_by(engineer, reference)
        if qty > have:
            raise NotInStock(
                f"{engineer} was issued {have} of {self.sku} for {reference}; the report "
                f"uses {qty} (issue the parts first)", fields={"parts": f"{self.sku}: at most "
                                                                         f"{have}"})
        self._consumed(engineer=engineer, reference=reference, warehouse=warehouse, qty=qty,
                       faulty_serials=faulty_serials, actor=actor)

    @event("Consumed")
    def _consumed(self, engineer: str, reference: str, warehouse: str, qty: int,
                  faulty_serials: list[str], actor: str) -> None:
        self._take_from(engineer, reference, qty)

    def _take_from(self, engineer: str, reference: str | None, qty: int) -> None:
        mine = self.held.setdefault(engineer, {})
        for ref in ([reference] if reference is not None else sorted(mine)):
            take = min(qty, mine.get(ref, 0))
            mine[ref] = mine.get(ref, 0) - take
            if not mine[ref]:
                mine.pop(ref, None)
            qty -= take
            if not qty:
                return
