"""What one completed job pays its engineer: a rate per service mode and distance band.

Seed 002's 服务工资结算: engineers are paid per completed job, more for a longer
journey.  A band is "up to N km" (the last band has no upper bound); a job is in
the first band whose bound it does not pass, a job without a known distance in
the first band.  Amounts are whole currency units as Decimals (no float money).
The deployment's rates come from `ledgerdesk.toml` `[settlement]`
(ledgerdesk.settlement_config); these are the defaults.

Rates change over time: `changes` are rate cards in force from a date on (each
mode left out keeps the bands before it), so a past period is priced with the
rates of its day, not today's.  `rates` is the card in force before the first
change (with no changes: always).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Band:
    upto_km: float | None  # None: no upper bound
    amount: Decimal


def _bands(*pairs: tuple[float | None, int]) -> tuple[Band, ...]:
    return tuple(Band(upto, Decimal(amount)) for upto, amount in pairs)


DEFAULT_RATES: Mapping[str, tuple[Band, ...]] = {
    "phone": _bands((None, 20)),
    "on_site": _bands((30, 80), (100, 150), (None, 250)),
    "carry_in": _bands((None, 60)),
    "mail_in": _bands((None, 60)),
    "paid": _bands((30, 100), (100, 180), (None, 300)),
}


@dataclass(frozen=True)
class SettlementRates:
    currency: str = "CNY"
    rates: Mapping[str, tuple[Band, ...]] = field(default_factory=lambda: dict(DEFAULT_RATES))
    # (effective from, the modes whose bands change that day), oldest first
    changes: tuple[tuple[date, Mapping[str, tuple[Band, ...]]], ...] = ()

    def bands(self, mode: str, on: date | None = None) -> tuple[Band, ...]:
        """The bands of `mode` in force on `on` (None: before any change)."""
        bands = self.rates.get(mode, ())
        for since, card in self.changes:
            if on is None or on < since:
                break
            bands = card.get(mode, bands)
        return bands

    def band(self, mode: str, distance_km: float | None, on: date | None = None) -> Band | None:
        """The band this job falls in, or None for a mode without rates (pays 0)."""
        bands = self.bands(mode, on)
        distance = distance_km or 0.0
        for band in bands:
            if band.upto_km is None or distance <= band.upto_km:
                return band
        return bands[-1] if bands else None

    def amount(self, mode: str, distance_km: float | None, on: date | None = None) -> Decimal:
        band = self.band(mode, distance_km, on)
        return band.amount if band is not None else Decimal(0)

    def band_label(self, mode: str, distance_km: float | None, on: date | None = None) -> str:
        """'0–30 km', '30–100 km', '≥ 100 km', or '' for a flat rate."""
        bands = self.bands(mode, on)
        band = self.band(mode, distance_km, on)
        if band is None or len(bands) <= 1:
            return ""
        index = bands.index(band)
        low = 0.0 if index == 0 else (bands[index - 1].upto_km or 0.0)
        if band.upto_km is None:
            return f"≥ {low:g} km"
        return f"{low:g}–{band.upto_km:g} km"
