"""Kite wire values -> domain values, checked on Zerodha's own mock responses."""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from kiteconnect import KiteTicker
from kiteconnect import exceptions as kex
from urllib3.exceptions import NewConnectionError, ProtocolError

from desktop_oms.brokers.errors import (
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    OrderNotFoundAtBroker,
    SessionExpired,
)
from desktop_oms.brokers.kite.mapping import (
    IST,
    KITE_STATUS_MAP,
    BrokerDataError,
    Failure,
    StaticIpRejected,
    UnsupportedKiteRow,
    classify_failure,
    client_order_id_of,
    has_tag,
    instrument_from_kite,
    map_kite_status,
    order_params,
    order_report_from_kite,
    parse_instruments_csv,
    parse_timestamp,
    position_report_from_kite,
    tick_from_quote,
    to_broker_error,
    trade_report_from_kite,
)
from desktop_oms.brokers.kite.stream.stream import (
    is_nse_market_hours,
    parse_binary,
    tick_from_packet,
)
from desktop_oms.domain import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Product,
    Validity,
    Variety,
)

MOCKS = Path(
    os.environ.get("KITE_MOCKS_DIR")
    or Path(__file__).resolve().parents[1] / "kite_server" / "mocks"
)


def mock(name: str):
    data = json.loads((MOCKS / name).read_text())
    return data["data"] if "data" in data and "status" in data else data


def packet(name: str) -> bytes:
    raw = base64.b64decode((MOCKS / f"{name}.packet").read_text().strip())
    return struct.pack(">HH", 1, len(raw)) + raw


def order(**changes) -> Order:
    now = datetime.now(IST)
    fields = dict(
        id=1,
        client_order_id="ABCD0000000001XYZ",
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        validity=Validity.DAY,
        variety=Variety.REGULAR,
        quantity=10,
        price=Decimal("1500.50"),
        trigger_price=None,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    fields.update(changes)
    return Order(**fields)


# -- statuses --------------------------------------------------------------------------------

EXPECTED = {
    "OPEN": OrderStatus.OPEN,
    "COMPLETE": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING,
    "PUT ORDER REQ RECEIVED": OrderStatus.SUBMITTED,
    "VALIDATION PENDING": OrderStatus.SUBMITTED,
    "OPEN PENDING": OrderStatus.SUBMITTED,
    "AMO REQ RECEIVED": OrderStatus.SUBMITTED,
    "MODIFY VALIDATION PENDING": OrderStatus.OPEN,
    "MODIFY PENDING": OrderStatus.OPEN,
    "MODIFIED": OrderStatus.OPEN,
    "CANCEL PENDING": OrderStatus.OPEN,
    "UPDATE": OrderStatus.OPEN,
    "CANCELLED AMO": OrderStatus.CANCELLED,
}


@pytest.mark.parametrize(("kite", "ours"), sorted(EXPECTED.items()))
def test_every_kite_status_maps(kite, ours):
    assert map_kite_status(kite) is ours


def test_every_status_in_the_mocks_is_mapped_explicitly():
    rows = mock("orders.json") + mock("order_info.json") + [mock("postback.json")]
    seen = {row["status"] for row in rows}
    assert seen >= {
        "COMPLETE",
        "CANCELLED",
        "REJECTED",
        "OPEN",
        "PUT ORDER REQ RECEIVED",
        "MODIFIED",
    }
    for status in seen:
        assert status in EXPECTED, status
    for row in rows:
        report = order_report_from_kite(row)
        assert report.status is map_kite_status(
            row["status"],
            filled_quantity=row["filled_quantity"],
            order_type=OrderType(row["order_type"]),
        )
        assert (
            report.status is EXPECTED[row["status"]]
            or report.status is OrderStatus.PARTIALLY_FILLED
        )


def test_order_history_statuses_from_the_mock():
    statuses = [order_report_from_kite(row).status for row in mock("order_info.json")]
    assert statuses == [
        OrderStatus.SUBMITTED,
        OrderStatus.SUBMITTED,
        OrderStatus.SUBMITTED,
        OrderStatus.OPEN,
        OrderStatus.OPEN,
        OrderStatus.OPEN,
        OrderStatus.OPEN,
        OrderStatus.OPEN,
    ]


def test_fills_refine_active_statuses_only():
    assert map_kite_status("OPEN", filled_quantity=3, quantity=10) is OrderStatus.PARTIALLY_FILLED
    assert map_kite_status("UPDATE", filled_quantity=3, quantity=10) is OrderStatus.PARTIALLY_FILLED
    assert (
        map_kite_status("MODIFY PENDING", filled_quantity=3, quantity=10)
        is OrderStatus.PARTIALLY_FILLED
    )
    assert map_kite_status("CANCELLED", filled_quantity=3, quantity=10) is OrderStatus.CANCELLED
    assert map_kite_status("COMPLETE", filled_quantity=10, quantity=10) is OrderStatus.FILLED


def test_transient_states_of_stop_orders_stay_trigger_pending():
    assert map_kite_status("MODIFY PENDING", order_type=OrderType.SL) is OrderStatus.TRIGGER_PENDING
    # Kite pushes a modification as UPDATE: an untriggered stop is still TRIGGER PENDING
    assert map_kite_status("UPDATE", order_type=OrderType.SL) is OrderStatus.TRIGGER_PENDING
    assert (
        map_kite_status("CANCEL PENDING", order_type=OrderType.SL_M) is OrderStatus.TRIGGER_PENDING
    )


def test_unknown_status_is_active_and_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="desktop_oms.brokers.kite.mapping")
    assert map_kite_status("SOMETHING NEW 1") is OrderStatus.OPEN
    assert map_kite_status("SOMETHING NEW 1", filled_quantity=1) is OrderStatus.PARTIALLY_FILLED
    assert map_kite_status(None).is_active
    warnings = [r for r in caplog.records if "SOMETHING NEW 1" in r.getMessage()]
    assert len(warnings) == 1


def test_status_table_has_no_terminal_surprises():
    terminal = {k for k, v in KITE_STATUS_MAP.items() if v.is_terminal}
    assert terminal == {"COMPLETE", "CANCELLED", "CANCELLED AMO", "REJECTED"}


# -- reports ---------------------------------------------------------------------------------


def test_order_reports_from_the_orders_mock():
    reports = [order_report_from_kite(row) for row in mock("orders.json")]
    by_id = {r.broker_order_id: r for r in reports}
    big = by_id["1953341975595868160"]  # 19 digits stay a string
    assert big.symbol == "TATASTEEL" and big.status is OrderStatus.FILLED
    assert big.client_order_id is None  # only Kite's own "mktp" tags
    assert big.price == Decimal("159.82") and big.average_price == Decimal("156.7")
    assert big.timestamp == datetime(2025, 8, 7, 11, 56, 33, tzinfo=IST)
    ioc = by_id["300000000000000"]
    assert ioc.price == Decimal("109.4") and ioc.trigger_price is None
    rejected = by_id["220524001859672"]
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.status_message.startswith("Insufficient funds")
    assert rejected.client_order_id == "icebergord"
    assert by_id["700000000000000"].client_order_id == "connect test order1"
    cancelled = by_id["100000000000000"]
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.pending_quantity == 0
    assert by_id["250117800776785"].product is Product.MTF
    for report in reports:
        assert isinstance(report.broker_order_id, str)
        assert report.timestamp.tzinfo is not None


def test_postback_is_an_order_report():
    report = order_report_from_kite(mock("postback.json"))
    assert report.broker_order_id == "220303000308932"
    assert report.status is OrderStatus.FILLED
    assert report.average_price == Decimal("470") and report.filled_quantity == 1


def test_integer_order_ids_are_kept_exactly_and_floats_refused():
    row = dict(mock("postback.json"), order_id=1953341975595868160)
    assert order_report_from_kite(row).broker_order_id == "1953341975595868160"
    with pytest.raises(BrokerDataError):
        order_report_from_kite(dict(row, order_id=1.953341975595868e18))


def test_malformed_and_unsupported_rows():
    row = mock("postback.json")
    for missing in ("order_id", "status", "tradingsymbol", "transaction_type", "quantity"):
        broken = dict(row)
        broken.pop(missing)
        with pytest.raises(BrokerDataError):
            order_report_from_kite(broken)
    with pytest.raises(BrokerDataError):
        order_report_from_kite(dict(row, quantity="ten"))
    with pytest.raises(BrokerDataError):
        order_report_from_kite("not an object")
    with pytest.raises(UnsupportedKiteRow):
        order_report_from_kite(dict(row, product="BO"))


def test_tags():
    assert client_order_id_of({"tag": "ABC1", "tags": ["ABC1", "mktp"]}) == "ABC1"
    assert client_order_id_of({"tag": None, "tags": ["mktp", "mktp:2.00", "ABC2"]}) == "ABC2"
    assert (
        client_order_id_of({"tag": None, "tags": ["autoslice", "autoslice:1953367517640548352"]})
        is None
    )
    assert has_tag({"tag": None, "tags": ["mktp", "ABC3"]}, "ABC3")
    assert not has_tag({"tag": "ABC30"}, "ABC3")


def test_trades_from_the_mock():
    trades = [trade_report_from_kite(row) for row in mock("trades.json")]
    assert [t.trade_id for t in trades] == ["10000000", "40000000", "70000000", "90000000"]
    usd = trades[1]
    assert (
        usd.price == Decimal("72.755") and usd.side is OrderSide.BUY and usd.product is Product.MIS
    )
    assert usd.timestamp == datetime(2021, 5, 31, 11, 18, 27, tzinfo=IST)


def test_positions_from_the_mock_carry_the_multiplier():
    rows = mock("positions.json")["net"]
    lead = position_report_from_kite(rows[0])
    assert lead.symbol == "LEADMINI17DECFUT" and lead.multiplier == Decimal("1000")
    assert lead.quantity == 1 and lead.average_price == Decimal("161.05")
    short = position_report_from_kite(mock("positions.json")["day"][0])
    assert short.quantity == -3
    with pytest.raises(UnsupportedKiteRow):  # product CO is not modelled
        position_report_from_kite(rows[2])


def test_decimals_come_from_the_text_of_the_json_number():
    margins = mock("margins.json")
    assert Decimal(str(margins["equity"]["net"])) == Decimal("99725.05000000002")


def test_timestamps():
    assert parse_timestamp("2021-05-31 09:18:57") == datetime(2021, 5, 31, 9, 18, 57, tzinfo=IST)
    assert parse_timestamp(datetime(2021, 5, 31, 9, 18, 57)).tzinfo is IST
    assert parse_timestamp("2021-07-05T10:41:27+05:30") == datetime(
        2021, 7, 5, 10, 41, 27, tzinfo=IST
    )
    utc = parse_timestamp(datetime(2021, 7, 5, 5, 11, 27, tzinfo=UTC))
    assert utc == datetime(2021, 7, 5, 10, 41, 27, tzinfo=IST) and utc.tzinfo == IST
    assert parse_timestamp("09:16:39") is None
    assert parse_timestamp(None) is None and parse_timestamp("") is None


def test_quote_and_ltp():
    tick = tick_from_quote("NSE:INFY", mock("quote.json")["NSE:INFY"])
    assert tick.last_price == Decimal("1412.95") and tick.close == Decimal("1389.65")
    assert tick.bid is None and tick.ask == Decimal("1412.95") and tick.ask_quantity == 5191
    assert tick.volume == 7360198 and tick.extra["instrument_token"] == 408065
    assert tick.timestamp == datetime(2021, 6, 8, 15, 45, 56, tzinfo=IST)
    ltp = tick_from_quote("NSE:INFY", mock("ltp.json")["NSE:INFY"])
    assert ltp.last_price == Decimal("1074.35")


def test_instruments_csv():
    instruments = parse_instruments_csv((MOCKS / "instruments_all.csv").read_bytes())
    assert len(instruments) == 99
    option = next(i for i in instruments if i.symbol == "BANKNIFTY18JAN23500CE")
    assert (
        option.lot_size == 40 and option.tick_size == Decimal("0.05") and option.exchange == "NFO"
    )
    assert option.expiry.isoformat() == "2018-01-25" and option.instrument_token == 12073986
    parsed_by_kiteconnect = {
        "instrument_token": 12073986,
        "tradingsymbol": "BANKNIFTY18JAN23500CE",
        "exchange": "NFO",
        "segment": "NFO-OPT",
        "tick_size": 0.05,
        "lot_size": 40,
        "expiry": option.expiry,
        "instrument_type": "CE",
        "strike": 23500.0,
        "name": "",
    }
    assert option.strike == Decimal(23500)
    assert instrument_from_kite(parsed_by_kiteconnect) == option
    with pytest.raises(BrokerDataError):
        parse_instruments_csv("not,a,dump\n1,2,3\n")


# -- order parameters ------------------------------------------------------------------------


def test_limit_order_params():
    params = order_params(order())
    assert params == {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "product": "MIS",
        "order_type": "LIMIT",
        "validity": "DAY",
        "tag": "ABCD0000000001XYZ",
        "price": "1500.50",
    }


def test_market_and_stop_market_orders_carry_market_protection():
    market = order_params(order(order_type=OrderType.MARKET, price=None))
    assert (
        market["market_protection"] == -1
        and "price" not in market
        and "trigger_price" not in market
    )
    slm = order_params(order(order_type=OrderType.SL_M, price=None, trigger_price=Decimal("1490")))
    assert slm["order_type"] == "SL-M" and slm["market_protection"] == -1
    assert slm["trigger_price"] == "1490" and "price" not in slm
    sl = order_params(order(order_type=OrderType.SL, trigger_price=Decimal("1490")))
    assert "market_protection" not in sl and sl["price"] == "1500.50"


def test_orders_this_adapter_refuses_before_sending():
    with pytest.raises(BrokerRejected):
        order_params(order(client_order_id="has spaces"))
    with pytest.raises(BrokerRejected):
        order_params(order(client_order_id="X" * 21))
    with pytest.raises(BrokerRejected):
        order_params(order(validity=Validity.TTL))
    with pytest.raises(BrokerRejected):
        order_params(order(variety=Variety.ICEBERG))
    with pytest.raises(BrokerRejected):
        order_params(order(price=None))


# -- errors ----------------------------------------------------------------------------------


def _connection_error(reason: Exception) -> requests.exceptions.ConnectionError:
    from urllib3.exceptions import MaxRetryError

    return requests.exceptions.ConnectionError(MaxRetryError(None, "/orders/regular", reason))


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (kex.TokenException("Incorrect `api_key` or `access_token`."), Failure.SESSION_EXPIRED),
        (kex.InputException("Invalid `price`."), Failure.REJECTED),
        (kex.OrderException("Order rejected by RMS", code=400), Failure.REJECTED),
        # pykiteconnect's default code for OrderException is 500: not proof of a refusal
        (kex.OrderException("Order rejected by RMS"), Failure.SERVER_ERROR),
        (kex.InputException("Something went wrong", code=502), Failure.SERVER_ERROR),
        (kex.PermissionException("Gateway error", code=503), Failure.SERVER_ERROR),
        (kex.PermissionException("Insufficient permission for that call."), Failure.REJECTED),
        (kex.InputException("Couldn't find that `order_id`.", code=400), Failure.NOT_FOUND),
        (kex.GeneralException("Couldn't find that `order_id`.", code=404), Failure.NOT_FOUND),
        (kex.NetworkException("Too many requests", code=429), Failure.RATE_LIMITED),
        (kex.GeneralException("Too many requests", code=429), Failure.RATE_LIMITED),
        (kex.NetworkException("Gateway timed out", code=504), Failure.SERVER_ERROR),
        (kex.GeneralException("Something went wrong"), Failure.SERVER_ERROR),
        (kex.GeneralException("Route not found", code=405), Failure.REJECTED),
        (kex.DataException("Couldn't parse the JSON response"), Failure.MALFORMED),
        (requests.exceptions.ReadTimeout("read timed out"), Failure.RESPONSE_LOST),
        (requests.exceptions.ChunkedEncodingError("broken"), Failure.RESPONSE_LOST),
        (requests.exceptions.ConnectTimeout("connect timed out"), Failure.NOT_SENT),
        (_connection_error(NewConnectionError(None, "refused")), Failure.NOT_SENT),
        (
            _connection_error(ProtocolError("Connection aborted.", ConnectionResetError(104))),
            Failure.RESPONSE_LOST,
        ),
        (KeyError("data"), Failure.MALFORMED),
        (UnboundLocalError("_list"), Failure.MALFORMED),
    ],
)
def test_classify_failure(exc, failure):
    assert classify_failure(exc).failure is failure


def test_domain_errors_carry_the_brokers_message():
    error = to_broker_error(
        classify_failure(kex.InputException("Invalid `price`.")), action="place order X"
    )
    assert type(error) is BrokerRejected and error.message == "Invalid `price`."
    assert isinstance(
        to_broker_error(classify_failure(kex.TokenException("expired")), action="x"), SessionExpired
    )
    assert isinstance(
        to_broker_error(classify_failure(kex.NetworkException("Too many", code=429)), action="x"),
        BrokerRateLimited,
    )
    assert isinstance(
        to_broker_error(classify_failure(kex.GeneralException("nope", code=404)), action="x"),
        OrderNotFoundAtBroker,
    )
    unavailable = to_broker_error(
        classify_failure(kex.GeneralException("boom")), action="fetch orders"
    )
    assert type(unavailable) is BrokerUnavailable and "boom" in unavailable.message
    assert isinstance(
        to_broker_error(classify_failure(KeyError("data")), action="x"), BrokerDataError
    )


@pytest.mark.parametrize(
    "message",
    [
        "Order request from an unregistered IP is not allowed",
        "IP 203.0.113.7 is not whitelisted for order placement",
        "Orders are allowed only from registered static IPs",
        "Request IP address is not allowed",
    ],
)
def test_static_ip_rejections_tell_the_trader_what_to_do(message):
    for exc in (
        kex.PermissionException(message),
        kex.InputException(message),
        kex.TokenException(message),
    ):
        error = to_broker_error(classify_failure(exc), action="place order X")
        assert isinstance(error, StaticIpRejected), exc
        assert message in error.message
        assert "developers.kite.trade" in error.message and "IP Whitelist" in error.message


def test_token_messages_are_not_mistaken_for_ip():
    error = to_broker_error(
        classify_failure(kex.TokenException("Token is invalid or has expired.")), action="x"
    )
    assert isinstance(error, SessionExpired)


# -- ticker packets --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ticker_full", "ticker_quote"])
def test_packets_decode_like_kiteticker_but_exactly(name):
    ours = parse_binary(packet(name))
    theirs = KiteTicker("key", "token")._parse_binary(packet(name))
    assert len(ours) == len(theirs) == 1
    a, b = ours[0], theirs[0]
    assert a["mode"] == b["mode"] and a["instrument_token"] == b["instrument_token"] == 408065
    for key in ("last_price", "average_traded_price"):
        assert a[key] == Decimal(str(b[key]))
    for key in (
        "volume_traded",
        "total_buy_quantity",
        "total_sell_quantity",
        "last_traded_quantity",
    ):
        assert a[key] == b[key]
    assert {k: Decimal(str(v)) for k, v in b["ohlc"].items()} == a["ohlc"]
    if name == "ticker_full":
        for side in ("buy", "sell"):
            assert [(d["quantity"], d["price"], d["orders"]) for d in a["depth"][side]] == [
                (d["quantity"], Decimal(str(d["price"])), d["orders"]) for d in b["depth"][side]
            ]
        # The decoded values Zerodha publishes beside the packet, in IST.
        assert a["exchange_timestamp"] == datetime(2021, 7, 5, 10, 41, 27, tzinfo=IST)
        assert a["last_trade_time"] == datetime(2021, 7, 5, 10, 41, 27, tzinfo=IST)


def test_full_packet_becomes_a_tick_with_best_bid_and_ask():
    tick = tick_from_packet(parse_binary(packet("ticker_full"))[0], "NSE", "INFY")
    expected = mock("ticker_full.json")
    assert tick.last_price == Decimal("1573.7") == Decimal(str(expected["last_price"]))
    assert tick.bid == Decimal("1573.4") and tick.bid_quantity == 5
    assert tick.ask == Decimal("1573.7") and tick.ask_quantity == 172
    assert tick.volume == expected["volume"] and tick.close == Decimal("1567.8")
    assert tick.timestamp == datetime.fromisoformat(expected["timestamp"])


def test_ltp_index_and_currency_packets():
    ltp = struct.pack(">II", 408065, 157315)
    index = struct.pack(
        ">IIIIIII", 256265, 2_450_055, 2_460_000, 2_440_000, 2_445_000, 2_447_000, 0
    ) + struct.pack(">I", 1625462487)
    cds = struct.pack(">II", 412675 & ~0xFF | 3, 727_550_000)
    frame = struct.pack(">H", 3)
    for p in (ltp, index, cds):
        frame += struct.pack(">H", len(p)) + p
    ticks = parse_binary(frame)
    assert ticks[0]["mode"] == "ltp" and ticks[0]["last_price"] == Decimal("1573.15")
    assert ticks[1]["mode"] == "full" and ticks[1]["last_price"] == Decimal("24500.55")
    assert ticks[1]["tradable"] is False  # token 256265 is in segment 9 (indices)
    assert ticks[1]["exchange_timestamp"].tzinfo is not None
    assert ticks[2]["last_price"] == Decimal("72.755")  # CDS divisor 10^7
    assert parse_binary(b"\x00") == []  # heartbeat
    with pytest.raises(ValueError):
        parse_binary(struct.pack(">HH", 1, 44) + b"\x00" * 10)


def test_market_hours():
    assert is_nse_market_hours(datetime(2026, 11, 24, 9, 15, tzinfo=IST))
    assert is_nse_market_hours(datetime(2026, 11, 24, 15, 30, tzinfo=IST))
    assert not is_nse_market_hours(datetime(2026, 11, 24, 9, 14, tzinfo=IST))
    assert not is_nse_market_hours(datetime(2026, 11, 24, 16, 0, tzinfo=IST))
    assert not is_nse_market_hours(datetime(2026, 11, 22, 11, 0, tzinfo=IST))  # Sunday
