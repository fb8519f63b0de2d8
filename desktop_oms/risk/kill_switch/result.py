"""Kill switch: what one engage() returns (`KillSwitchResult`) and the tally it keeps
while working (`_Progress`: the orders it set out to cancel, the positions to flatten,
the errors met on the way).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class KillSwitchResult:
    to_cancel: int = 0
    cancelled: int = 0
    to_flatten: int = 0
    flattened: int = 0
    kept: int = 0  # protective exits kept (not flattening)
    verified: bool = False
    errors: tuple[str, ...] = ()
    message: str = ""

    def __getitem__(self, key: str):  # dict-style access, as the first version returned
        return getattr(self, key)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class _Progress:
    cancel_ids: set[int] = field(default_factory=set)
    flatten_keys: set = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
