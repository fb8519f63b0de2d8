"""The bundled F&O rules file and its loader: values the circulars give, dated revisions,
lookups, and files that must be refused whole."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from desktop_oms.infra.resources import resource_path
from desktop_oms.marketdata.options import FnoRules, FnoRulesError, UnknownUnderlying

DAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def rules() -> FnoRules:
    return FnoRules.bundled()


def test_bundled_file_has_the_circular_values(rules):
    nifty = rules.for_underlying("NIFTY", DAY)
    assert (nifty.exchange, nifty.lot_size, nifty.freeze_quantity) == ("NFO", 65, 1800)
    assert nifty.index_key == ("NSE", "NIFTY 50")
    assert nifty.strike_step == Decimal("50") and nifty.tick_size == Decimal("0.05")
    assert nifty.weekly_expiry == 1 and nifty.monthly_expiry == 1  # Tuesdays
    assert (nifty.max_lots_per_order, nifty.max_quantity_per_order) == (27, 1755)
    bank = rules.for_underlying("BANKNIFTY", DAY)
    assert (bank.lot_size, bank.freeze_quantity, bank.index_symbol) == (30, 600, "NIFTY BANK")
    assert not bank.has_weeklies and bank.monthly_expiry == 1
    fin = rules.for_underlying("FINNIFTY", DAY)
    assert (fin.lot_size, fin.freeze_quantity, fin.index_symbol) == (60, 1200, "NIFTY FIN SERVICE")
    assert not fin.has_weeklies
    sensex = rules.for_underlying("SENSEX", DAY)
    assert (sensex.exchange, sensex.index_key) == ("BFO", ("BSE", "SENSEX"))
    assert sensex.weekly_expiry == 3 and sensex.monthly_expiry == 3  # Thursdays on BSE
    assert sensex.lot_size == 20
    assert rules.max_slices == 10


def test_latest_revision_names_its_circulars_and_date(rules):
    revision = rules.revision_for(DAY)
    assert revision.effective_from == date(2026, 3, 2)
    assert "NSE/FAOP/73039" in revision.circulars and "NSE/FAOP/70616" in revision.circulars
    nifty = revision.underlyings["NIFTY"]
    assert nifty.sources["freeze_quantity"] == "NSE/FAOP/73039"
    assert nifty.sources["lot_size"] == "NSE/FAOP/70616"


def test_unconfirmed_values_are_marked(rules):
    sensex = rules.for_underlying("SENSEX", DAY)
    assert not sensex.is_confirmed("freeze_quantity")
    assert rules.for_underlying("NIFTY", DAY).is_confirmed("freeze_quantity")


def test_the_revision_in_force_on_a_day_wins(rules):
    # FINNIFTY's freeze quantity was 1,800 from 1 Feb 2026 and 1,200 from 2 Mar 2026.
    assert rules.for_underlying("FINNIFTY", date(2026, 2, 1)).freeze_quantity == 1800
    assert rules.for_underlying("FINNIFTY", date(2026, 3, 1)).freeze_quantity == 1800
    assert rules.for_underlying("FINNIFTY", date(2026, 3, 2)).freeze_quantity == 1200
    assert rules.for_underlying("FINNIFTY", date(2026, 3, 2)).effective_from == date(2026, 3, 2)
    with pytest.raises(FnoRulesError, match="earliest revision takes effect on 2026-02-01"):
        rules.for_underlying("NIFTY", date(2026, 1, 31))


def test_lookups_by_index_and_by_tradingsymbol(rules):
    assert rules.for_index("NSE", "NIFTY BANK", DAY).underlying == "BANKNIFTY"
    assert rules.for_index("bse", "sensex", DAY).underlying == "SENSEX"
    assert rules.for_tradingsymbol("NIFTY26D0826400CE", DAY).underlying == "NIFTY"
    assert rules.for_tradingsymbol("BANKNIFTY26DEC59900PE", DAY).underlying == "BANKNIFTY"
    assert rules.for_tradingsymbol("NFO:FINNIFTY26DECFUT", DAY).underlying == "FINNIFTY"
    assert rules.for_tradingsymbol("SENSEX26D1085000CE", DAY, exchange="BFO").lot_size == 20
    assert rules.for_tradingsymbol("MIDCPNIFTY26DEC13000CE", DAY).underlying == "MIDCPNIFTY"
    with pytest.raises(UnknownUnderlying, match="trade on BFO, not NFO"):
        rules.for_tradingsymbol("SENSEX26D1085000CE", DAY, exchange="NFO")
    with pytest.raises(UnknownUnderlying):
        rules.for_tradingsymbol("RELIANCE26DEC1500CE", DAY)
    with pytest.raises(UnknownUnderlying):
        rules.for_tradingsymbol("NIFTY 50", DAY)
    with pytest.raises(UnknownUnderlying, match="known: NIFTY"):
        rules.for_underlying("NIFTYIT", DAY)
    with pytest.raises(UnknownUnderlying):
        rules.for_index("NSE", "NIFTY IT", DAY)


# -- files that must be refused whole --------------------------------------------------

_MINIMAL = """
format = 1
[slicing]
max_slices = 10

[[revision]]
effective_from = 2026-03-02
[revision.NIFTY]
exchange = "NFO"
index = "NSE:NIFTY 50"
lot_size = 65
freeze_quantity = 1800
strike_step = "50"
tick_size = "0.05"
weekly_expiry = "TUE"
weekly_listed = 4
monthly_expiry = "TUE"
monthly_listed = 3
"""


def _broken(old: str, new: str) -> str:
    assert old in _MINIMAL
    return _MINIMAL.replace(old, new, 1)


def test_minimal_file_loads():
    rules = FnoRules.from_text(_MINIMAL)
    assert rules.for_underlying("nifty", date(2026, 3, 2)).lot_size == 65


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("format = 1", "format = 2", "unsupported F&O rules format 2"),
        ("max_slices = 10", "max_slices = 0", "slicing.max_slices must be at least 1"),
        ("max_slices = 10", "max_slice = 10", "[slicing]: unknown key(s) max_slice"),
        ("lot_size = 65", "lot_size = 65.0", "lot_size must be a whole number"),
        ("lot_size = 65", "lot_size = 0", "lot_size must be at least 1"),
        ("freeze_quantity = 1800", "freeze_quantity = 60", "below one lot"),
        ('strike_step = "50"', "strike_step = 50", "write it as text"),
        ('strike_step = "50"', 'strike_step = "50.02"', "not a whole number of ticks"),
        ('tick_size = "0.05"', 'tick_size = "-0.05"', "must be a positive number"),
        ('exchange = "NFO"', 'exchange = "NSE"', "exchange must be NFO or BFO"),
        ('index = "NSE:NIFTY 50"', 'index = "NIFTY 50"', "must read EXCHANGE:SYMBOL"),
        ('index = "NSE:NIFTY 50"', 'index = "BSE:SENSEX"', "NFO options follow an index on NSE"),
        ('weekly_expiry = "TUE"', 'weekly_expiry = "SAT"', "is not a weekday"),
        ('weekly_expiry = "TUE"\n', "", "weekly_listed given without weekly_expiry"),
        ("weekly_listed = 4\n", "", "weekly_expiry given without weekly_listed"),
        ("monthly_listed = 3\n", "", "missing monthly_listed"),
        ("monthly_listed = 3\n", "monthly_listed = 3\nlot = 1\n", "unknown key(s) lot"),
        ("effective_from = 2026-03-02", 'effective_from = "2026-03-02"', "must be a date"),
        ("[revision.NIFTY]", "[revision.nifty]", "is not an underlying name"),
    ],
)
def test_bad_files_are_refused_with_the_place(old, new, message):
    with pytest.raises(FnoRulesError, match=re.escape(message)):
        FnoRules.from_text(_broken(old, new))


def test_a_bad_later_revision_refuses_the_whole_file():
    good_then_bad = _MINIMAL + _MINIMAL.split("[[revision]]", 1)[1].replace(
        "2026-03-02", "2026-04-01"
    ).replace("lot_size = 65", "lot_size = -1").join(["[[revision]]", ""])
    with pytest.raises(FnoRulesError, match=r"revision\[1\]\.NIFTY\.lot_size"):
        FnoRules.from_text(good_then_bad)


def test_two_revisions_on_one_day_are_refused():
    twice = _MINIMAL + "[[revision]]" + _MINIMAL.split("[[revision]]", 1)[1]
    with pytest.raises(FnoRulesError, match="same day"):
        FnoRules.from_text(twice)


def test_two_underlyings_following_one_index_are_refused():
    extra = _MINIMAL + _MINIMAL.split("[revision.NIFTY]", 1)[1].join(["[revision.NIFTYX]", ""])
    with pytest.raises(FnoRulesError, match="both follow NSE:NIFTY 50"):
        FnoRules.from_text(extra)


def test_unreadable_file_names_its_path(tmp_path):
    path = tmp_path / "fno_rules.toml"
    path.write_text("format = 1\n[slicing\n", encoding="utf-8")
    with pytest.raises(FnoRulesError, match=re.escape(str(path))):
        FnoRules.load(path)
    with pytest.raises(FnoRulesError, match="cannot be read"):
        FnoRules.load(tmp_path / "missing.toml")


def test_a_loaded_file_reports_problems_with_its_path(tmp_path):
    path = tmp_path / "fno_rules.toml"
    path.write_text(_broken("lot_size = 65", "lot_size = 0"), encoding="utf-8")
    with pytest.raises(FnoRulesError, match=re.escape(f"{path}: revision[0].NIFTY.lot_size")):
        FnoRules.load(path)


def test_bundled_file_is_the_resource():
    assert resource_path("fno_rules.toml").name == "fno_rules.toml"
