"""Kite instruments CSV parsing, the instrument store and the bundled paper-mode file."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from desktop_oms.infra.resources import resource_path
from desktop_oms.marketdata.instruments import (
    COLUMNS,
    InstrumentStore,
    UnknownInstrument,
    load_bundled_instruments,
    load_instruments_csv,
    read_instruments_csv,
)

HEADER = ",".join(COLUMNS)
GOOD = f"""{HEADER}
738561,2885,RELIANCE,RELIANCE INDUSTRIES,1518.40,,0.0,0.05,1,EQ,NSE,NSE
895745,3499,TATASTEEL,TATA STEEL,168.42,,0.0,0.01,1,EQ,NSE,NSE
13365762,52210,NIFTY26DECFUT,NIFTY,26410.5,2026-12-29,0.0,0.05,65,FUT,NFO-FUT,NFO
256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE
"""


def parse(text: str):
    return load_instruments_csv(io.StringIO(text))


def test_parses_kite_rows_with_exact_types():
    reliance, steel, nifty, index = parse(GOOD)
    assert reliance.key == ("NSE", "RELIANCE")
    assert reliance.instrument_token == 738561
    assert reliance.name == "RELIANCE INDUSTRIES"
    assert reliance.tick_size == Decimal("0.05") and isinstance(reliance.tick_size, Decimal)
    assert reliance.lot_size == 1 and reliance.multiplier == Decimal(1)
    assert (
        reliance.expiry is None and reliance.instrument_type == "EQ" and reliance.segment == "NSE"
    )
    assert reliance.tradable
    assert steel.tick_size == Decimal("0.01")
    assert nifty.lot_size == 65 and nifty.expiry == date(2026, 12, 29)
    assert (nifty.exchange, nifty.segment, nifty.instrument_type) == ("NFO", "NFO-FUT", "FUT")
    # Index rows have no tick or lot size in Kite's dump: kept, but not tradable.
    assert index.symbol == "NIFTY 50" and not index.tradable and index.lot_size == 1


def test_reads_from_a_path_and_a_path_string(tmp_path):
    path = tmp_path / "instruments.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert [i.symbol for i in load_instruments_csv(path)] == [i.symbol for i in parse(GOOD)]
    assert len(load_instruments_csv(str(path))) == 4


def test_last_prices_are_kept_on_the_store_not_on_instruments():
    store = InstrumentStore.from_csv(io.StringIO(GOOD))
    assert store.last_prices() == {
        ("NSE", "RELIANCE"): Decimal("1518.40"),
        ("NSE", "TATASTEEL"): Decimal("168.42"),
        ("NFO", "NIFTY26DECFUT"): Decimal("26410.5"),
    }  # the index row quotes 0.0: left out
    store.last_prices().clear()  # a copy
    assert len(store.last_prices()) == 3


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("abc,2885,FOO,FOO,1,,0,0.05,1,EQ,NSE,NSE", "instrument_token 'abc'"),
        ("1,2885,FOO,FOO,1,,0,nickel,1,EQ,NSE,NSE", "tick_size 'nickel'"),
        ("1,2885,FOO,FOO,1,,0,0,1,EQ,NSE,NSE", "tick_size '0' must be positive"),
        ("1,2885,FOO,FOO,1,,0,0.05,0,EQ,NSE,NSE", "lot_size 0"),
        ("1,2885,FOO,FOO,1,,0,0.05,1.5,EQ,NSE,NSE", "lot_size '1.5'"),
        ("1,2885,FOO,FOO,1,26-12-2026,0,0.05,1,EQ,NSE,NSE", "expiry '26-12-2026'"),
        ("1,2885,FOO,FOO,-5,,0,0.05,1,EQ,NSE,NSE", "last_price '-5'"),
        ("1,2885,,FOO,1,,0,0.05,1,EQ,NSE,NSE", "tradingsymbol is empty"),
        ("1,2885,FOO,FOO,1,,0,0.05,1,EQ,NSE", "expected 12 fields, found 11"),
        (
            "738561,2885,RELIANCE,DUP,1,,0,0.05,1,EQ,NSE,NSE",
            "duplicate instrument NSE:RELIANCE (first on line 2)",
        ),
    ],
)
def test_bad_rows_raise_naming_the_line(row, problem):
    text = f"{HEADER}\n738561,2885,RELIANCE,RELIANCE,1518.4,,0.0,0.05,1,EQ,NSE,NSE\n{row}\n"
    with pytest.raises(ValueError) as exc:
        parse(text)
    assert "line 3" in str(exc.value)
    assert problem in str(exc.value)


def test_duplicates_can_be_tolerated_for_large_broker_dumps():
    text = (
        f"{HEADER}\n1,1,FOO,FIRST,1,,0,0.05,1,EQ,NSE,NSE\n2,2,FOO,SECOND,1,,0,0.05,1,EQ,NSE,NSE\n"
    )
    (only,) = load_instruments_csv(io.StringIO(text), strict_duplicates=False)
    assert only.name == "FIRST"


def test_header_problems_are_reported():
    with pytest.raises(ValueError, match="empty file"):
        parse("")
    with pytest.raises(ValueError, match=r"line 1: .*missing column\(s\): tick_size"):
        parse(HEADER.replace("tick_size", "tick") + "\n")


def test_blank_lines_are_skipped_and_column_order_is_free():
    columns = list(reversed(COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerow(
        dict(
            zip(
                COLUMNS,
                [
                    "408065",
                    "1594",
                    "INFY",
                    "INFOSYS",
                    "1542.1",
                    "",
                    "0",
                    "0.05",
                    "1",
                    "EQ",
                    "NSE",
                    "NSE",
                ],
                strict=True,
            )
        )
    )
    buffer.write("\n")
    (infy,) = parse(buffer.getvalue())
    assert infy.key == ("NSE", "INFY") and infy.instrument_token == 408065


def test_store_lookups():
    store = InstrumentStore.from_csv(io.StringIO(GOOD))
    assert len(store) == 4
    assert [i.symbol for i in store] == ["RELIANCE", "TATASTEEL", "NIFTY26DECFUT", "NIFTY 50"]
    assert store.get("nse", " reliance ").instrument_token == 738561
    assert store.get("NSE", "FOO") is None
    assert store.require("NFO", "NIFTY26DECFUT").lot_size == 65
    assert store.by_token(895745).symbol == "TATASTEEL"
    assert store.by_token(1) is None
    assert ("NSE", "RELIANCE") in store and ("BSE", "RELIANCE") not in store


def test_require_names_the_unknown_instrument():
    store = InstrumentStore.from_csv(io.StringIO(GOOD))
    with pytest.raises(KeyError) as exc:
        store.require("NSE", "FOO")
    assert isinstance(exc.value, UnknownInstrument)
    assert str(exc.value) == "Unknown instrument NSE:FOO"


def test_store_refuses_duplicates_and_prices_of_unknown_instruments():
    (reliance, *_rest) = parse(GOOD)
    with pytest.raises(ValueError, match="duplicate"):
        InstrumentStore([reliance, reliance])
    with pytest.raises(ValueError, match="unknown instrument NSE:FOO"):
        InstrumentStore([reliance], {("NSE", "FOO"): Decimal(1)})


def symbols(found):
    return [i.symbol for i in found]


def test_search_symbol_prefix_first_then_name():
    store = load_bundled_instruments()
    assert symbols(store.search("rel"))[0] == "RELIANCE"
    tata = symbols(store.search("TATA"))
    # symbol matches, shortest first, then the name match (TCS is "TATA CONSULTANCY ...")
    assert tata == ["TATASTEEL", "TATACONSUM", "TATAMOTORS", "TCS"]
    assert symbols(store.search("tcs")) == ["TCS"]
    # the indices (listed, not tradable) come first: their symbols are the shortest
    assert symbols(store.search("nifty")) == [
        "NIFTY 50",
        "NIFTY BANK",
        "NIFTY26DECFUT",
        "NIFTY FIN SERVICE",
    ]
    assert symbols(store.search("NFO:NIFTY")) == ["NIFTY26DECFUT"]
    assert symbols(store.search("NFO:BANK")) == ["BANKNIFTY26DECFUT"]


def test_search_word_matches_come_last_and_limit_applies():
    store = load_bundled_instruments()
    bank = symbols(store.search("bank"))
    assert bank[0] == "BANKNIFTY26DECFUT"
    assert {"AXISBANK", "HDFCBANK", "ICICIBANK", "KOTAKBANK", "SBIN", "INDUSINDBK"} <= set(bank[1:])
    assert len(store.search("bank", limit=3)) == 3
    assert store.search("") == [] and store.search("   ") == [] and store.search("zzzz") == []
    assert store.search("a", limit=0) == []


def test_bundled_file_header_is_kites():
    with resource_path("instruments_paper.csv").open(encoding="utf-8") as handle:
        assert handle.readline().strip() == HEADER


def test_bundled_instruments_cover_the_liquid_names_with_real_sizes():
    store = load_bundled_instruments()
    required = "RELIANCE TCS INFY HDFCBANK ICICIBANK SBIN ITC LT AXISBANK KOTAKBANK".split()
    for symbol in required:
        instrument = store.require("NSE", symbol)
        assert instrument.tick_size == Decimal("0.05")
        assert instrument.lot_size == 1 and instrument.instrument_type == "EQ"
        assert instrument.segment == "NSE" and instrument.tradable
    assert store.require("NSE", "RELIANCE").instrument_token == 738561
    equities = [i for i in store if i.exchange == "NSE"]
    assert len(equities) >= 30
    assert len({i.instrument_token for i in store}) == len(store)
    with resource_path("instruments_paper.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            # Kite token = exchange token << 8 | segment (1 = NSE, 2 = NFO, 9 = indices)
            segment = 9 if row["segment"] == "INDICES" else {"NSE": 1, "NFO": 2}[row["exchange"]]
            assert int(row["instrument_token"]) == int(row["exchange_token"]) << 8 | segment
    prices = store.last_prices()
    for instrument in store:
        price = prices[instrument.key]
        assert price > 0 and instrument.price_on_tick(price), instrument.symbol


def test_bundled_index_futures():
    store = load_bundled_instruments()
    nifty = store.require("NFO", "NIFTY26DECFUT")
    bank = store.require("NFO", "BANKNIFTY26DECFUT")
    for future, name in ((nifty, "NIFTY"), (bank, "BANKNIFTY")):
        assert (
            future.name == name and future.instrument_type == "FUT" and future.segment == "NFO-FUT"
        )
        assert future.expiry is not None and (future.expiry.year, future.expiry.month) == (2026, 12)
        assert future.expiry.weekday() == 1  # monthly index expiry: last Tuesday
        assert future.tick_size == Decimal("0.05")
    assert (nifty.lot_size, bank.lot_size) == (65, 30)


def test_read_returns_instruments_and_prices_together():
    parsed = read_instruments_csv(io.StringIO(GOOD))
    assert len(parsed.instruments) == 4 and len(parsed.last_prices) == 3
