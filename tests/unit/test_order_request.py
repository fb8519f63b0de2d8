"""OrderRequest normalisation and refusals, and order_shape_problem's rules."""

from __future__ import annotations

import dataclasses
import math
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_oms.domain.enums import OrderSide, OrderType, Product, Validity, Variety
from desktop_oms.domain.orders import MAX_QUANTITY, OrderRequest, order_shape_problem

D = Decimal
SYMBOL_OK = re.compile(r"[A-Z0-9][A-Z0-9&\-_.]{0,39}")
EXCHANGES = {"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"}


def make(**overrides) -> OrderRequest:
    fields = {
        "symbol": "RELIANCE",
        "exchange": "NSE",
        "side": OrderSide.BUY,
        "quantity": 10,
        "order_type": OrderType.LIMIT,
        "price": D("2450.50"),
    }
    fields.update(overrides)
    return OrderRequest(**fields)


# --- normalisation ----------------------------------------------------------------------


def test_contract_example_builds():
    r = OrderRequest(
        symbol="RELIANCE",
        exchange="NSE",
        side=OrderSide.BUY,
        quantity=10,
        order_type=OrderType.LIMIT,
        price=D("2450.50"),
        product=Product.MIS,
        validity=Validity.DAY,
    )
    assert (r.symbol, r.exchange, r.side, r.quantity) == ("RELIANCE", "NSE", OrderSide.BUY, 10)
    assert r.price == D("2450.50")
    assert r.trigger_price is None and r.stop_loss is None and r.take_profit is None
    assert r.variety is Variety.REGULAR
    assert order_shape_problem(r) is None


def test_strings_are_normalised():
    r = OrderRequest(
        symbol="  reliance \t",
        exchange=" nse ",
        side="buy",
        quantity=10,
        order_type="limit",
        price="2,450.55",
        product="cnc",
        validity="ioc",
        variety="AMO",
        stop_loss=" 2430 ",
        take_profit=2491.05,
    )
    assert r.symbol == "RELIANCE"
    assert r.exchange == "NSE"
    assert r.side is OrderSide.BUY
    assert r.order_type is OrderType.LIMIT
    assert r.product is Product.CNC
    assert r.validity is Validity.IOC
    assert r.variety is Variety.AMO
    assert r.price == D("2450.55") and isinstance(r.price, Decimal)
    assert r.stop_loss == D("2430") and isinstance(r.stop_loss, Decimal)
    # a float goes through its repr, not its binary expansion
    assert r.take_profit == D("2491.05")
    assert str(r.take_profit) == "2491.05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sl-m", OrderType.SL_M),
        ("SL-M", OrderType.SL_M),
        ("sl", OrderType.SL),
        ("Market", OrderType.MARKET),
    ],
)
def test_order_type_from_text(text, expected):
    price = None if expected in (OrderType.MARKET, OrderType.SL_M) else D("100")
    trigger = D("100") if expected.needs_trigger else None
    assert make(order_type=text, price=price, trigger_price=trigger).order_type is expected


@pytest.mark.parametrize(
    "symbol", ["M&M", "BAJAJ-AUTO", "NIFTY24JUN22000CE", "A", "X" * 40, "SGBAUG28V-GB"]
)
def test_real_symbols_are_accepted(symbol):
    assert make(symbol=symbol.lower()).symbol == symbol


@pytest.mark.parametrize("exchange", sorted(EXCHANGES))
def test_every_exchange(exchange):
    assert make(exchange=exchange.lower()).exchange == exchange


def test_empty_price_means_none():
    r = make(order_type="MARKET", price="", trigger_price=None)
    assert r.price is None


def test_prices_from_int_and_decimal_and_bounds():
    assert make(price=2450).price == D("2450")
    assert make(price=D("0.05")).price == D("0.05")
    assert make(price=D("100000000")).price == D("100000000")
    assert make(quantity=MAX_QUANTITY).quantity == 10_000_000


def test_strategy_id():
    assert make(strategy_id="x" * 64).strategy_id == "x" * 64
    assert make(strategy_id=7).strategy_id == 7
    assert make(strategy_id=None).strategy_id is None


def test_request_is_immutable():
    r = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.quantity = 1_000_000  # type: ignore[misc]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qty",
    [0, -1, -10, 1.0, 10.5, math.nan, True, False, "10", D("10"), None, MAX_QUANTITY + 1, 10**100],
    ids=repr,
)
def test_bad_quantity(qty):
    with pytest.raises(ValueError):
        make(quantity=qty)


BAD_PRICES = [
    math.nan,
    math.inf,
    -math.inf,
    D("NaN"),
    D("sNaN"),
    D("Infinity"),
    D("-Infinity"),
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    0,
    0.0,
    -0.0,
    "0",
    "0.00",
    "-0",
    D("0"),
    D("-0"),
    -1,
    -0.05,
    "-2450.50",
    D("-0.05"),
    "abc",
    "12abc",
    "2450.50 INR",
    "₹2450",
    " ",
    "1e9",
    10**9,
    1e300,
    D("100000000.05"),
    "9" * 5000,
    True,
    False,
    [2450],
    b"2450",
    object(),
]


@pytest.mark.parametrize("field", ["price", "trigger_price", "stop_loss", "take_profit"])
@pytest.mark.parametrize("value", BAD_PRICES, ids=lambda v: repr(v)[:30])
def test_bad_price(field, value):
    with pytest.raises(ValueError):
        make(**{field: value})


@pytest.mark.parametrize("exchange", ["", "NSEX", "N SE", "nasdaq", None, 1, b"NSE", "NSE;"])
def test_unknown_exchange(exchange):
    with pytest.raises(ValueError):
        make(exchange=exchange)


@pytest.mark.parametrize(
    "symbol",
    [
        "",
        "   ",
        "RELIANCE'; DROP TABLE orders;--",
        "RELIANCE' OR '1'='1",
        'RELIANCE"',
        "REL IANCE",
        "RELIANCE\nINFY",
        "RELIANCE\x00",
        "-RELIANCE",
        ".RELIANCE",
        "../../etc/passwd",
        "RELIANCE;",
        "RELIANCE%",
        "X" * 41,
        "रिलायंस",
        "ＲＥＬＩＡＮＣＥ",  # full-width
        "RELİANCE",  # dotted capital I
        "RELIANCE\u200b",  # zero-width space
        "RÉLIANCE",
        None,
        123,
        b"RELIANCE",
    ],
    ids=repr,
)
def test_bad_symbol(symbol):
    with pytest.raises(ValueError):
        make(symbol=symbol)


@pytest.mark.parametrize("symbol", ["relıance", "ſbin", "ﬁnolex"], ids=ascii)
def test_unicode_that_uppercases_to_ascii_is_refused(symbol):
    with pytest.raises(ValueError):
        make(symbol=symbol)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("side", "HOLD"),
        ("side", ""),
        ("side", None),
        ("order_type", "STOP"),
        ("order_type", "SL_M"),
        ("order_type", None),
        ("product", "XYZ"),
        ("product", OrderSide.BUY),
        ("validity", "GTC"),
        ("variety", "bracket"),
    ],
)
def test_unknown_enum_values(field, value):
    with pytest.raises(ValueError):
        make(**{field: value})


@pytest.mark.parametrize(
    "strategy_id", ["x" * 65, "s" * 10_000, 1.5, ["a"], object()], ids=lambda v: repr(v)[:20]
)
def test_bad_strategy_id(strategy_id):
    with pytest.raises(ValueError):
        make(strategy_id=strategy_id)


# --- fuzz: nothing but ValueError ------------------------------------------------------------

anything = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=10),
)
numberish_text = st.from_regex(r"\A[ \-+]?[0-9,]{0,12}(\.[0-9]{0,6})?([eE][\-+]?[0-9]{1,4})?\Z")


def _check_valid(r: OrderRequest) -> None:
    assert SYMBOL_OK.fullmatch(r.symbol)
    assert r.exchange in EXCHANGES
    assert isinstance(r.side, OrderSide) and isinstance(r.order_type, OrderType)
    assert isinstance(r.product, Product) and isinstance(r.validity, Validity)
    assert isinstance(r.variety, Variety)
    assert type(r.quantity) is int and 0 < r.quantity <= MAX_QUANTITY
    for name in ("price", "trigger_price", "stop_loss", "take_profit"):
        value = getattr(r, name)
        if value is not None:
            assert isinstance(value, Decimal)
            assert value.is_finite()
            assert D(0) < value <= D(100_000_000)


@settings(max_examples=500, deadline=None)
@given(
    symbol=st.one_of(st.text(max_size=50), anything),
    exchange=st.one_of(st.sampled_from(sorted(EXCHANGES)), anything),
    side=st.one_of(st.sampled_from(["BUY", "sell", OrderSide.SELL]), anything),
    quantity=st.one_of(st.integers(min_value=-5, max_value=MAX_QUANTITY + 5), anything),
    order_type=st.one_of(st.sampled_from(["LIMIT", "MARKET", "sl", "SL-M"]), anything),
    price=st.one_of(numberish_text, anything),
    trigger_price=st.one_of(st.none(), numberish_text, anything),
    stop_loss=st.one_of(st.none(), anything),
    take_profit=st.one_of(st.none(), anything),
    product=st.one_of(st.just("MIS"), anything),
    validity=st.one_of(st.just("DAY"), anything),
    variety=st.one_of(st.just("regular"), anything),
    strategy_id=st.one_of(st.none(), anything),
)
def test_fuzz_only_value_error(**fields):
    try:
        r = OrderRequest(**fields)
    except ValueError:
        return
    _check_valid(r)
    order_shape_problem(r)  # must not raise on anything the constructor accepted


@settings(max_examples=300, deadline=None)
@given(price=st.floats(allow_nan=True, allow_infinity=True), text=st.text())
def test_fuzz_prices_and_symbols(price, text):
    for kwargs in ({"price": price}, {"stop_loss": price, "price": D("1e8")}, {"symbol": text}):
        try:
            r = make(**kwargs)
        except ValueError:
            continue
        _check_valid(r)


# --- order_shape_problem ---------------------------------------------------------------------

BUY, SELL = OrderSide.BUY, OrderSide.SELL
OK_SHAPES = [
    dict(order_type="MARKET"),
    dict(order_type="LIMIT", price="100"),
    dict(order_type="SL", price="100", trigger_price="99.5"),  # buy stop: trigger <= limit
    dict(order_type="SL", price="100", trigger_price="100"),
    dict(order_type="SL", side=SELL, price="100", trigger_price="100.5"),  # sell: trigger >= limit
    dict(order_type="SL", side=SELL, price="100", trigger_price="100"),
    dict(order_type="SL-M", trigger_price="100"),
    dict(order_type="LIMIT", price="100", stop_loss="95", take_profit="110"),
    dict(order_type="LIMIT", side=SELL, price="100", stop_loss="105", take_profit="90"),
    dict(order_type="SL", price="100", trigger_price="99", stop_loss="95", take_profit="110"),
    dict(order_type="MARKET", stop_loss="95"),
    dict(order_type="MARKET", take_profit="110"),
]

BAD_SHAPES = [
    (dict(order_type="LIMIT"), "LIMIT order needs a price"),
    (dict(order_type="LIMIT", price="100", trigger_price="99"), "LIMIT order takes no trigger"),
    (dict(order_type="SL", price="100"), "SL order needs both"),
    (dict(order_type="SL", trigger_price="100"), "SL order needs both"),
    (dict(order_type="SL"), "SL order needs both"),
    (dict(order_type="SL-M"), "SL-M order needs a trigger"),
    (dict(order_type="SL-M", trigger_price="100", price="100"), "trigger price only"),
    (dict(order_type="MARKET", price="100"), "MARKET order takes neither"),
    (dict(order_type="MARKET", trigger_price="100"), "MARKET order takes neither"),
    (dict(order_type="SL", price="100", trigger_price="100.05"), "buy SL order's trigger"),
    (
        dict(order_type="SL", side=SELL, price="100", trigger_price="99.95"),
        "sell SL order's trigger",
    ),
    (dict(order_type="LIMIT", price="100", stop_loss="100"), "buy order's stop-loss"),
    (dict(order_type="LIMIT", price="100", stop_loss="100.05"), "buy order's stop-loss"),
    (dict(order_type="LIMIT", side=SELL, price="100", stop_loss="100"), "sell order's stop-loss"),
    (dict(order_type="LIMIT", side=SELL, price="100", stop_loss="99"), "sell order's stop-loss"),
    (dict(order_type="LIMIT", price="100", take_profit="100"), "buy order's take-profit"),
    (dict(order_type="LIMIT", price="100", take_profit="99.95"), "buy order's take-profit"),
    (
        dict(order_type="LIMIT", side=SELL, price="100", take_profit="100"),
        "sell order's take-profit",
    ),
    (
        dict(order_type="LIMIT", side=SELL, price="100", take_profit="101"),
        "sell order's take-profit",
    ),
    (
        dict(order_type="SL", price="100", trigger_price="99", stop_loss="101"),
        "buy order's stop-loss",
    ),
]


def shaped(fields: dict) -> OrderRequest:
    base = {"price": None, "trigger_price": None, "side": BUY}
    base.update(fields)
    return make(**base)


@pytest.mark.parametrize("fields", OK_SHAPES, ids=str)
def test_good_shapes(fields):
    assert order_shape_problem(shaped(fields)) is None


@pytest.mark.parametrize(("fields", "message"), BAD_SHAPES, ids=[str(f) for f, _ in BAD_SHAPES])
def test_bad_shapes(fields, message):
    problem = order_shape_problem(shaped(fields))
    assert problem is not None
    assert message in problem


@pytest.mark.parametrize(
    "fields",
    [
        dict(order_type="MARKET", stop_loss="110", take_profit="100"),  # buy: SL above TP
        dict(order_type="MARKET", side=SELL, stop_loss="100", take_profit="110"),
        dict(order_type="MARKET", stop_loss="100", take_profit="100"),
        dict(order_type="SL-M", trigger_price="100", stop_loss="105"),  # buy stop above its entry
    ],
    ids=str,
)
def test_bracket_levels_are_checked_without_a_limit_price(fields):
    assert order_shape_problem(shaped(fields)) is not None
