"""Instruments files: Kite's instruments CSV read from a path or stream, and the bundled
paper-mode file.

The format, the parser and the in-memory catalogue (`InstrumentStore`) are the domain's
(`desktop_oms.domain.catalog`, so brokers need no market data module); this module opens
the files and names the bundled one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

from desktop_oms.domain import Instrument
from desktop_oms.domain.catalog import (
    COLUMNS,
    InstrumentsFile,
    InstrumentStore,
    UnknownInstrument,
    parse_instruments,
)
from desktop_oms.infra.resources import resource_path

log = logging.getLogger(__name__)

BUNDLED_INSTRUMENTS_FILE = "instruments_paper.csv"

__all__ = [
    "BUNDLED_INSTRUMENTS_FILE",
    "COLUMNS",
    "InstrumentStore",
    "InstrumentsFile",
    "UnknownInstrument",
    "load_bundled_instruments",
    "load_instruments_csv",
    "read_instruments_csv",
]


def _open_text(source: Path | str | TextIO) -> tuple[TextIO, str, bool]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        return path.open("r", encoding="utf-8-sig", newline=""), str(path), True
    return source, getattr(source, "name", "<stream>"), False


def _kept_first(problem: str) -> None:
    log.warning("%s; the first one is kept", problem)


def read_instruments_csv(
    source: Path | str | TextIO, *, strict_duplicates: bool = True
) -> InstrumentsFile:
    """Parse a Kite instruments CSV. Raises ValueError naming the file and line of a bad row.

    A second row for the same (exchange, tradingsymbol) is an error, unless
    `strict_duplicates` is False: then the first row wins and the others are logged.
    """
    stream, label, owned = _open_text(source)
    try:
        return parse_instruments(
            stream, label, strict_duplicates=strict_duplicates, on_duplicate=_kept_first
        )
    finally:
        if owned:
            stream.close()


def load_instruments_csv(
    source: Path | str | TextIO, *, strict_duplicates: bool = True
) -> list[Instrument]:
    """Instruments of a Kite instruments CSV (path, path string or open text stream)."""
    return read_instruments_csv(source, strict_duplicates=strict_duplicates).instruments


def load_bundled_instruments() -> InstrumentStore:
    """The instruments shipped for paper mode (resources/instruments_paper.csv)."""
    parsed = read_instruments_csv(resource_path(BUNDLED_INSTRUMENTS_FILE))
    return InstrumentStore(parsed.instruments, parsed.last_prices)
