"""`evolve`: a copy of a frozen dataclass with some fields changed, like
`dataclasses.replace` but about twice as fast.

`replace` inspects the class's fields on every call; on the fill path (an order, a
position and its marks copied for every fill) that was a fifth of the time. `evolve`
generates, once per class, a function taking every field as an optional keyword and
calling the class's own `__init__` (so `__post_init__` validation still runs).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")

_UNSET: Any = object()
_COPIERS: dict[type, Any] = {}


def _copier(cls: type):
    all_fields = fields(cls)
    if any(not f.init for f in all_fields):
        raise TypeError(f"{cls.__name__} has fields outside __init__; use dataclasses.replace")
    names = [f.name for f in all_fields]
    params = ", ".join(f"{name}=_UNSET" for name in names)
    # Positional where __init__ takes them so (cheaper than keywords), in field order.
    args = ", ".join(
        (f"{f.name}=" if f.kw_only else "") + f"obj.{f.name} if {f.name} is _UNSET else {f.name}"
        for f in sorted(all_fields, key=lambda f: f.kw_only)
    )
    namespace = {"_UNSET": _UNSET, "_cls": cls}
    exec(f"def copy(obj, *, {params}):\n    return _cls({args})\n", namespace)  # noqa: S102 - generated from field names only
    return namespace["copy"]


def evolve(obj: T, **changes: Any) -> T:
    """`obj` with `changes` applied (unknown names raise TypeError, as `replace` does)."""
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    return copier(obj, **changes)
