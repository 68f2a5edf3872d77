"""The `[settlement]` section of `ledgerdesk.toml`, read into
domain.settlement.rates.SettlementRates.

    [settlement]
    currency = "CNY"
    [settlement.rates]
    phone = [{amount = 20}]
    on_site = [{upto_km = 30, amount = 80}, {upto_km = 100, amount = 150}, {amount = 250}]

Rates that change from a date on are added as `[[settlement.changes]]`, each
with `from = 2026-07-01` (a TOML date) and its own `rates` table; a job is
priced with the rates in force on the day it was completed:

    [[settlement.changes]]
    from = 2026-07-01
    rates = {on_site = [{upto_km = 30, amount = 90}, {amount = 260}]}

A mode left out keeps its default bands (in a change: the bands before it);
bands go up in distance and only the last may be open.  A mistake is a
ValueError naming the key, raised at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.settlement.rates import DEFAULT_RATES, Band, SettlementRates

MODES = tuple(DEFAULT_RATES)


class SettlementConfigError(ValueError):
    """Raised with the key at fault; ledgerdesk.config turns it into a ConfigError."""


def settlement_rates(section: Mapping[str, Any] | None) -> SettlementRates:
    if not section:
        return SettlementRates()
    if not isinstance(section, Mapping):
        raise SettlementConfigError("[settlement] must be a table")
    unknown = set(section) - {"currency", "rates", "changes"}
    if unknown:
        raise SettlementConfigError(f"settlement: unknown keys {', '.join(sorted(unknown))}")
    currency = section.get("currency", "CNY")
    if not isinstance(currency, str) or not currency.strip():
        raise SettlementConfigError("settlement.currency must be a currency code such as CNY")
    rates = {**DEFAULT_RATES, **_card(section.get("rates"), "settlement.rates")}
    return SettlementRates(currency=currency.strip().upper(), rates=rates,
                           changes=_changes(section.get("changes")))


def _card(spec: Any, key: str) -> dict[str, tuple[Band, ...]]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise SettlementConfigError(f"{key} must be a table of service modes")
    card: dict[str, tuple[Band, ...]] = {}
    for mode, bands in spec.items():
        if mode not in MODES:
            raise SettlementConfigError(
                f"{key}.{mode}: not a service mode ({', '.join(MODES)})")
        card[mode] = _bands(bands, f"{key}.{mode}")
    return card


def _changes(spec: Any) -> tuple[tuple[date, Mapping[str, tuple[Band, ...]]], ...]:
    """The rate changes, each from a date on, in date order (one change a day)."""
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise SettlementConfigError("settlement.changes must be a list of {from, rates}")
    changes: list[tuple[date, Mapping[str, tuple[Band, ...]]]] = []
    for i, change in enumerate(spec):
        key = f"settlement.changes[{i}]"
        if not isinstance(change, Mapping) or set(change) - {"from", "rates"}:
            raise SettlementConfigError(f"{key} takes from and rates")
        since = change.get("from")
        if isinstance(since, str):
            try:
                since = date.fromisoformat(since)
            except ValueError:
                raise SettlementConfigError(f"{key}.from must be a date like 2026-07-01"
                                            ) from None
        if not isinstance(since, date) or isinstance(since, datetime):
            raise SettlementConfigError(f"{key}.from must be a date like 2026-07-01")
        if any(since == earlier for earlier, _ in changes):
            raise SettlementConfigError(f"{key}.from: another change starts on {since}")
        changes.append((since, _card(change.get("rates"), f"{key}.rates")))
    return tuple(sorted(changes, key=lambda c: c[0]))


def _bands(spec: Any, key: str) -> tuple[Band, ...]:
    if not isinstance(spec, list) or not spec:
        raise SettlementConfigError(f"{key} must be a list of {{upto_km, amount}} bands")
    bands: list[Band] = []
    for i, band in enumerate(spec):
        where = f"{key}[{i}]"
        if not isinstance(band, Mapping) or set(band) - {"upto_km", "amount"}:
            raise SettlementConfigError(f"{where} takes upto_km and amount")
        upto = band.get("upto_km")
        if upto is not None and (isinstance(upto, bool) or not isinstance(upto, int | float)
                                 or upto <= 0):
            raise SettlementConfigError(f"{where}.upto_km must be a positive number of km")
        try:
            amount = Decimal(str(band.get("amount")))
        except InvalidOperation:
            raise SettlementConfigError(f"{where}.amount must be a number") from None
        if not amount.is_finite() or amount < 0:
            raise SettlementConfigError(f"{where}.amount must be zero or more")
        if bands and (bands[-1].upto_km is None or (upto is not None
                                                     and upto <= bands[-1].upto_km)):
            raise SettlementConfigError(f"{where}: bands go up in distance; only the last "
                                        "may leave upto_km out")
        bands.append(Band(float(upto) if upto is not None else None, amount))
    return tuple(bands)
