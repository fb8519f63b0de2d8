"""MCX/CDS contract multipliers (issue 14 item 1): the bundled dated table, applying it
to Kite's instruments (lot_size 1, no multiplier), learning Kite's from positions, and a
fill never trading a known multiplier for 1."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from desktop_oms.brokers.kite.contracts import bundled_contract_multipliers
from desktop_oms.domain import Instrument
from desktop_oms.domain.catalog import InstrumentStore
from desktop_oms.domain.contracts import ContractTableError, parse_contract_multipliers
from desktop_oms.oms.sync.fills import known_multiplier

TODAY = date(2026, 12, 8)


def future(exchange: str, symbol: str, name: str = "") -> Instrument:
    return Instrument(
        exchange=exchange,
        symbol=symbol,
        instrument_token=1,
        name=name,
        tick_size=D("0.05"),
        lot_size=1,
        instrument_type="FUT",
        segment=f"{exchange}-FUT",
    )


def test_the_bundled_table_has_the_exchanges_multipliers():
    table = bundled_contract_multipliers()
    assert table.multiplier("MCX", "LEADMINI", TODAY) == D(1000)  # Zerodha's positions.json
    assert table.multiplier("MCX", "GOLD", TODAY) == D(100)  # 1 kg quoted per 10 g
    assert table.multiplier("MCX", "GOLDM", TODAY) == D(10)
    assert table.multiplier("MCX", "CRUDEOIL", TODAY) == D(100)
    assert table.multiplier("CDS", "USDINR", TODAY) == D(1000)
    assert table.multiplier("CDS", "JPYINR", TODAY) == D(1000)  # 1,00,000 JPY per 100 JPY
    assert table.multiplier("NSE", "INFY", TODAY) is None
    assert table.multiplier("MCX", "GOLD", date(2020, 1, 1)) is None  # before the table


def test_applying_the_table_by_name_or_symbol():
    table = bundled_contract_multipliers()
    rows = [
        future("MCX", "GOLDM26DECFUT", "GOLDM"),
        future("MCX", "GOLDM26DEC130000CE"),  # no name: the longest prefix, GOLDM not GOLD
        future("CDS", "USDINR26DECFUT", "USDINR"),
        future("MCX", "KAPAS26DECFUT", "KAPAS"),  # not in the table
        Instrument(exchange="NSE", symbol="INFY"),
    ]
    applied, unknown = table.apply(rows, TODAY)
    assert [i.multiplier for i in applied] == [D(10), D(10), D(1000), D(1), D(1)]
    assert unknown == {("MCX", "KAPAS")}


def test_revisions_are_dated_and_checked():
    doc = {
        "format": 1,
        "revision": [
            {"effective_from": date(2024, 1, 1), "MCX": {"GOLD": 100}},
            {"effective_from": date(2026, 6, 1), "MCX": {"GOLD": 50}},
        ],
    }
    table = parse_contract_multipliers(doc)
    assert table.multiplier("MCX", "GOLD", date(2026, 5, 31)) == D(100)
    assert table.multiplier("MCX", "GOLD", date(2026, 6, 1)) == D(50)
    for broken in (
        {"format": 2, "revision": doc["revision"]},
        {"format": 1, "revision": [{"effective_from": "2024-01-01", "MCX": {"GOLD": 100}}]},
        {"format": 1, "revision": [{"effective_from": date(2024, 1, 1), "MCX": {"GOLD": 0}}]},
        {"format": 1, "revision": [{"effective_from": date(2024, 1, 1), "NSE": {"X": 1}}]},
        {"format": 1, "revision": list(reversed(doc["revision"]))},
    ):
        with pytest.raises(ContractTableError):
            parse_contract_multipliers(broken)


def test_an_instrument_learns_kites_multiplier():
    store = InstrumentStore([future("MCX", "LEADMINI26DECFUT", "LEADMINI")])
    learned = store.set_multiplier("MCX", "LEADMINI26DECFUT", D(1000))
    assert learned.multiplier == D(1000)
    assert store.get("MCX", "LEADMINI26DECFUT").multiplier == D(1000)
    assert store.by_token(1).multiplier == D(1000)
    assert list(store)[0].multiplier == D(1000)
    assert store.set_multiplier("MCX", "NOSUCH", D(5)) is None


def test_a_fill_never_trades_a_known_multiplier_for_1():
    assert known_multiplier(D(1), D(1000)) == D(1000)  # the position knows Kite's
    assert known_multiplier(None, D(1000)) == D(1000)
    assert known_multiplier(D(1000), D(1)) == D(1000)  # the table knows it
    assert known_multiplier(D(1), D(1)) == D(1)
