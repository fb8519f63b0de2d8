"""Freeze-quantity slicing: split one order's quantity into exchange-acceptable orders.

The exchange rejects an order above the freeze quantity. A larger quantity is sent as
slices, each a whole number of lots and at most the freeze quantity: full slices first
(the most whole lots under the freeze quantity), the remainder last. More than
`max_slices` slices (10 at Kite in 2026) is refused before anything is sent.

Pure arithmetic on units (not lots); refusals carry the check that failed, named as the
order path names them: "order_shape" (not whole lots, not positive) and "max_quantity"
(would need too many slices).
"""

from __future__ import annotations

from dataclasses import dataclass

ORDER_SHAPE = "order_shape"
MAX_QUANTITY = "max_quantity"


class SliceRefused(ValueError):
    """The quantity cannot be sent; `check` says which rule refused it."""

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True, slots=True)
class SlicePlan:
    quantity: int
    lot_size: int
    freeze_quantity: int
    slices: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.slices)

    @property
    def sliced(self) -> bool:
        """More than one order is needed."""
        return len(self.slices) > 1

    @property
    def lots(self) -> tuple[int, ...]:
        return tuple(q // self.lot_size for q in self.slices)


def _fmt(units: int) -> str:
    return f"{units:,}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def max_slice_quantity(lot_size: int, freeze_quantity: int) -> int:
    """The largest order: whole lots at most the freeze quantity (65 / 1,800 -> 1,755)."""
    if lot_size < 1:
        raise ValueError(f"lot size must be at least 1, got {lot_size}")
    largest = (freeze_quantity // lot_size) * lot_size
    if largest < lot_size:
        raise ValueError(
            f"freeze quantity {freeze_quantity} is below one lot ({lot_size}): check the rules file"
        )
    return largest


def plan_slices(
    quantity: int, lot_size: int, freeze_quantity: int, max_slices: int = 10, *, label: str = ""
) -> SlicePlan:
    """Slices for `quantity` units, or SliceRefused. `label` (e.g. the tradingsymbol)
    starts the refusal messages."""
    if max_slices < 1:
        raise ValueError(f"max_slices must be at least 1, got {max_slices}")
    largest = max_slice_quantity(lot_size, freeze_quantity)
    prefix = f"{label}: " if label else ""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise SliceRefused(
            f"{prefix}quantity must be a positive whole number, got {quantity!r}", ORDER_SHAPE
        )
    if quantity % lot_size:
        lots, rest = divmod(quantity, lot_size)
        raise SliceRefused(
            f"{prefix}quantity {_fmt(quantity)} is not a whole number of lots of {lot_size} "
            f"({_count(lots, 'lot')} and {_count(rest, 'unit')})",
            ORDER_SHAPE,
        )
    full, remainder = divmod(quantity, largest)
    slices = (largest,) * full + ((remainder,) if remainder else ())
    if len(slices) > max_slices:
        raise SliceRefused(
            f"{prefix}{_fmt(quantity)} ({quantity // lot_size} lots) needs {len(slices)} orders of at "
            f"most {_fmt(largest)} ({largest // lot_size} lots, freeze quantity {_fmt(freeze_quantity)}); "
            f"at most {max_slices} are allowed, so at most {_fmt(largest * max_slices)} "
            f"({largest // lot_size * max_slices} lots) in one go",
            MAX_QUANTITY,
        )
    return SlicePlan(quantity, lot_size, freeze_quantity, slices)
