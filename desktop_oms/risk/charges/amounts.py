"""Charges: `Charges`, the breakdown of one trade's (or one contract note's) charges in
rupees - brokerage, STT, exchange transaction charges, SEBI fee, stamp duty and GST.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from desktop_oms.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Charges:
    """One trade's (or a contract note's) charges, in rupees."""

    brokerage: Decimal = ZERO
    stt: Decimal = ZERO
    exchange_txn: Decimal = ZERO  # including NSE's IPFT charge, as on the contract note
    sebi: Decimal = ZERO
    stamp: Decimal = ZERO
    gst: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.brokerage + self.stt + self.exchange_txn + self.sebi + self.stamp + self.gst

    def __add__(self, other: Charges) -> Charges:
        return Charges(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, Decimal]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["total"] = self.total
        return out
