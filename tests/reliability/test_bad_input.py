"""Bad input: nothing crashes, nothing is written half-done, each gets a clear message.

* OrderRequest fields and the OMS entry points (place / modify / cancel / get) fuzzed with
  NaN, infinities, huge, negative and zero numbers, unicode and SQL-looking text, off-tick
  prices: only ValueError or the OMS's own refusals come out, and the journal stays whole
  (no order without events, no event or trade without an order, events append-only, and
  the journal agrees with the broker).
* A corrupt or hand-edited settings.toml: defaults, a clear warning, the bad file kept.
* A corrupt database file and one from a newer version: a clear error, the file untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.config import Settings
from desktop_oms.domain import OrderRequest, OrderSide, OrderType, Product
from desktop_oms.oms import (
    OrderNotCancellable,
    OrderNotFound,
    OrderNotModifiable,
    OrderRejected,
)
from desktop_oms.risk import RiskLimits
from desktop_oms.storage import Database, DatabaseError, DatabaseTooNew, NotAnOmsDatabase
from tests.reliability.conftest import Oms, truth_from_paper_live
from tests.reliability.crash_harness import audit, check_after_kill

SQLISH = [
    "'; DROP TABLE orders; --",
    "RELIANCE' OR '1'='1",
    'INFY"); DELETE FROM order_events; --',
    "1; UPDATE positions SET quantity=0",
    "%s %d {0} {}",
]
UNICODE = ["ＲＥＬＩＡＮＣＥ", "रिलायंस", "INFY\u200b", "TCS\x00", "🚀", "I\u0307NFY", "ß", "\ud7ff"]
NUMBERS_TEXT = [
    "1e309",
    "-0",
    "0",
    "NaN",
    "-Infinity",
    "1,00,000.05",
    "१२३",
    "0x10",
    "1_000",
    " 7 ",
    "",
    "2450.025",
]


def nasty_numbers():
    return st.one_of(
        st.none(),
        st.sampled_from(
            [
                float("nan"),
                float("inf"),
                -float("inf"),
                Decimal("NaN"),
                Decimal("sNaN"),
                Decimal("Infinity"),
                Decimal("-0"),
                Decimal("1E+400"),
                Decimal("1E-40"),
                0,
                -1,
            ]
        ),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.decimals(allow_nan=True, allow_infinity=True, places=None),
        st.sampled_from(NUMBERS_TEXT),
        st.booleans(),
    )


def plausible_price():
    """Near RELIANCE/INFY prices, on or off the 0.05 tick."""
    return st.builds(
        lambda base, ticks, off: Decimal(base) + Decimal("0.05") * ticks + off,
        st.sampled_from(["1500", "2450"]),
        st.integers(-200, 200),
        st.sampled_from([Decimal(0), Decimal(0), Decimal(0), Decimal("0.01"), Decimal("0.001")]),
    )


def nasty_text():
    return st.one_of(
        st.text(max_size=50),
        st.sampled_from(SQLISH + UNICODE + ["", " ", "a" * 200]),
        st.none(),
        st.integers(),
        st.floats(allow_nan=True),
    )


def field(good, nasty, good_weight: int = 3):
    return st.one_of(*([good] * good_weight), nasty)


REQUEST_FIELDS = {
    "symbol": field(
        st.sampled_from(["RELIANCE", "INFY", "reliance", " INFY ", "TCS"]), nasty_text()
    ),
    "exchange": field(st.sampled_from(["NSE", "nse", "BSE"]), nasty_text(), 4),
    "side": field(st.sampled_from(list(OrderSide) + ["buy", "SELL"]), nasty_text(), 4),
    "quantity": field(st.integers(1, 20), nasty_numbers()),
    "order_type": field(st.sampled_from(list(OrderType) + ["limit", "SL-M"]), nasty_text(), 4),
    "price": field(plausible_price(), nasty_numbers()),
    "trigger_price": st.one_of(st.none(), st.none(), plausible_price(), nasty_numbers()),
    "product": field(st.sampled_from(list(Product) + ["mis"]), nasty_text(), 4),
    "validity": field(st.sampled_from(["DAY", "IOC", "day", "TTL"]), nasty_text(), 4),
    "variety": field(st.sampled_from(["regular", "REGULAR", "amo", "iceberg"]), nasty_text(), 4),
    "strategy_id": st.one_of(
        st.none(), st.text(max_size=80), st.integers(), st.sampled_from(SQLISH), st.floats()
    ),
    "stop_loss": st.one_of(st.none(), st.none(), plausible_price(), nasty_numbers()),
    "take_profit": st.one_of(st.none(), st.none(), plausible_price(), nasty_numbers()),
    "tag": st.one_of(st.none(), nasty_text()),
}


@st.composite
def order_requests(draw):
    return {name: draw(strategy) for name, strategy in REQUEST_FIELDS.items()}


class LoopOms:
    """An OMS on the paper broker driven from synchronous hypothesis tests."""

    def __init__(self, path: Path, instruments) -> None:
        self.loop = asyncio.new_event_loop()
        # hypothesis sends examples as fast as it can: Kite's rate is not the point here
        broker = PaperBroker(state_path=None, instruments=instruments, order_rate_limits=())
        broker.set_last_prices(
            {
                ("NSE", "RELIANCE"): Decimal("2450"),
                ("NSE", "INFY"): Decimal("1500"),
                ("NSE", "TCS"): Decimal("3100"),
            }
        )
        self.h = Oms(path=path, broker=broker, instruments=instruments)
        self.run(self.h.open(monitor_interval=0.05))
        self.events: list[tuple] = []

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def check(self) -> None:
        self.events = check_after_kill(self.h.path / "oms.db", self.events)

    def close(self) -> None:
        try:
            self.run(self.h.close())
        finally:
            self.loop.close()


@pytest.fixture
def loop_oms(tmp_path, instruments):
    oms = LoopOms(tmp_path, instruments)
    yield oms
    oms.close()


FUZZ = settings(
    max_examples=150,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # the journal persists across examples: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@FUZZ
@given(fields=order_requests())
def test_order_requests_are_refused_cleanly_or_placed_whole(loop_oms, fields):
    h = loop_oms.h
    try:
        request = OrderRequest(**fields)
    except ValueError as exc:
        assert str(exc), "a refusal needs a message"
        loop_oms.check()
        return
    try:
        result = loop_oms.run(h.om.place_order(request))
    except (ValueError, OrderRejected) as exc:
        assert str(exc)
    else:
        assert result.order_id and result.client_order_id
    loop_oms.check()


@FUZZ
@given(
    data=st.data(),
    price=nasty_numbers() | plausible_price(),
    quantity=nasty_numbers() | st.integers(1, 30),
    trigger=nasty_numbers() | plausible_price(),
)
def test_modify_and_cancel_with_bad_values_change_nothing_half_way(
    loop_oms, data, price, quantity, trigger
):
    h = loop_oms.h
    om = h.om
    active = loop_oms.run(om.get_active_orders())
    if len(active) < 3:  # resting orders (far from the market) to work on
        for symbol, px in (("RELIANCE", "2300"), ("INFY", "1400"), ("TCS", "3000")):
            loop_oms.run(
                om.place_order(
                    OrderRequest(
                        symbol=symbol,
                        exchange="NSE",
                        side=OrderSide.BUY,
                        quantity=5,
                        order_type=OrderType.LIMIT,
                        price=Decimal(px),
                    )
                )
            )
        active = loop_oms.run(om.get_active_orders())
    ids = [o.id for o in active]
    # Draws must not depend on state (hypothesis replays): pick by index, or a raw id.
    pick = st.one_of(
        st.integers(0, 99).map(lambda i: ids[i % len(ids)]), st.integers(-(2**62), 2**62)
    )
    order_id = data.draw(pick, label="order_id")
    before = loop_oms.run(h.broker.orders())
    try:
        loop_oms.run(
            om.modify_order(order_id, price=price, quantity=quantity, trigger_price=trigger)
        )
    except (ValueError, OrderRejected, OrderNotFound, OrderNotModifiable) as exc:
        assert str(exc)
        # A refused modification reached the broker only if the broker itself refused it.
        after = {o.broker_order_id: o for o in loop_oms.run(h.broker.orders())}
        for o in before:
            assert (after[o.broker_order_id].price, after[o.broker_order_id].quantity) == (
                o.price,
                o.quantity,
            )
    if data.draw(st.booleans(), label="cancel"):
        try:
            loop_oms.run(om.cancel_order(data.draw(pick, label="cancel_id")))
        except (OrderNotFound, OrderNotCancellable) as exc:
            assert str(exc)
    loop_oms.check()
    journal = {o.broker_order_id: o for o in loop_oms.run(om.list_orders()) if o.broker_order_id}
    for report in loop_oms.run(h.broker.orders()):  # journal and broker agree on the terms
        mine = journal[report.broker_order_id]
        assert (mine.quantity, mine.price) == (report.quantity, report.price), (mine, report)


@pytest.mark.parametrize(
    "change", [{"quantity": 10**20}, {"price": Decimal("1E+309")}, {"quantity": 50_000_000}]
)
async def test_modify_with_absurd_values_is_refused_before_sending(kite_oms, change):
    h = kite_oms
    result = await h.om.place_order(
        OrderRequest(
            symbol="INFY",
            exchange="NSE",
            side=OrderSide.BUY,
            quantity=5,
            order_type=OrderType.LIMIT,
            price=Decimal("1490"),
        )
    )
    with pytest.raises((ValueError, OrderRejected)):
        await h.om.modify_order(result.order_id, **change)
    assert h.server.count("PUT", rf"/orders/regular/{result.broker_order_id}") == 0
    assert h.server.book.orders[result.broker_order_id]["quantity"] == 5


def test_fuzzed_journal_agrees_with_the_broker(loop_oms):
    """After a burst of hostile requests, the full audit (as in the crash suite) holds."""
    h = loop_oms.h
    rng = random.Random(6)
    for _ in range(60):
        fields = {
            "symbol": rng.choice(["RELIANCE", "INFY", "TCS", "'; DROP TABLE orders; --", "ＴＣＳ"]),
            "exchange": "NSE",
            "side": rng.choice(["BUY", "SELL"]),
            "quantity": rng.choice([1, 2, 5, 0, -3, 10**12]),
            "order_type": rng.choice(["LIMIT", "MARKET", "SL"]),
            "price": rng.choice(
                [None, Decimal("2450"), Decimal("1500.05"), Decimal("1500.03"), Decimal("NaN")]
            ),
            "trigger_price": rng.choice([None, Decimal("2440"), Decimal("1490")]),
        }
        try:
            request = OrderRequest(**fields)
            loop_oms.run(h.om.place_order(request))
        except (ValueError, OrderRejected):
            pass
    loop_oms.run(h.settle())
    truth = loop_oms.run(truth_from_paper_live(h.broker))
    problems, figures = audit(h.path / "oms.db", truth)
    assert not problems, problems
    assert figures["orders"] > 0


# ---------------------------------------------------------------------- settings.toml


SETTING_NAMES = [
    "broker",
    "simulate_market",
    "market_seed",
    "tick_interval_s",
    "monitor_interval_s",
    "reconcile_interval_s",
    "confirm_above_value",
    "db_synchronous",
    "kite_api_key",
    "kite_root",
    "kite_ticker_root",
    "kite_redirect_port",
]
RISK_NAMES = [
    "capital",
    "risk_per_trade_pct",
    "daily_loss_limit_pct",
    "max_open_positions",
    "min_risk_reward",
    "price_band_pct",
    "max_order_value",
    "max_quantity",
    "duplicate_window_s",
    "require_stop_loss",
    "warn_at_loss_pct",
    "loss_limit_action",
    "flatten_on_kill_switch",
]


def toml_values():
    scalars = st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(["paper", "kite", "FULL", "normal", "-5", "1e9", "halt", "alert"]),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=3))


@st.composite
def settings_documents(draw):
    doc = {}
    for name in draw(
        st.lists(st.sampled_from(SETTING_NAMES + ["unknown_key", "data_dir"]), unique=True)
    ):
        doc[name] = draw(toml_values())
    if draw(st.booleans()):
        risk_names = draw(st.lists(st.sampled_from(RISK_NAMES + ["no_such_limit"]), unique=True))
        doc["risk"] = {name: draw(toml_values()) for name in risk_names}
    return doc


def assert_sane(s: Settings) -> None:
    """What the app relies on when a settings file was accepted without a warning."""
    assert s.broker in ("paper", "kite")
    assert isinstance(s.simulate_market, bool)
    assert s.market_seed is None or (
        isinstance(s.market_seed, int) and not isinstance(s.market_seed, bool)
    )
    for name in ("tick_interval_s", "monitor_interval_s", "reconcile_interval_s"):
        value = getattr(s, name)
        assert 0 < value < 86400 and value == value
    assert s.confirm_above_value.is_finite() and s.confirm_above_value >= 0
    assert isinstance(s.db_synchronous, str) and s.db_synchronous.upper() in (
        "FULL",
        "NORMAL",
        "EXTRA",
    )
    for name in ("kite_api_key", "kite_root", "kite_ticker_root"):
        assert getattr(s, name) is None or isinstance(getattr(s, name), str)
    risk = s.risk
    for name in (
        "capital",
        "risk_per_trade_pct",
        "daily_loss_limit_pct",
        "min_risk_reward",
        "price_band_pct",
        "max_order_value",
    ):
        value = getattr(risk, name)
        assert value.is_finite() and value > 0, name
    assert risk.max_open_positions > 0 and risk.max_quantity > 0


def load_bad(data_dir: Path, raw: bytes) -> tuple[Settings, str | None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("settings.toml*"):
        old.unlink()
    (data_dir / "settings.toml").write_bytes(raw)
    settings_, warning = Settings.load(data_dir)
    if warning is None:
        assert_sane(settings_)
        assert (data_dir / "settings.toml").read_bytes() == raw  # a good file is left alone
    else:
        assert settings_ == Settings(data_dir=data_dir), "defaults must be in effect"
        assert str(data_dir / "settings.toml") in warning and "defaults" in warning
        kept = list(data_dir.glob("settings.toml.bad-*"))
        assert len(kept) == 1 and kept[0].read_bytes() == raw, "the bad file must be kept as it was"
        assert kept[0].name in warning
    return settings_, warning


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(doc=settings_documents())
def test_hand_edited_settings_give_defaults_and_a_warning_never_a_crash(tmp_path, doc):
    load_bad(tmp_path / "data", tomli_w.dumps(doc).encode())


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_garbage_settings_bytes_give_defaults_and_a_warning(tmp_path, raw):
    load_bad(tmp_path / "data", raw)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (b"\x00\xff\xfe garbage \x89PNG", None),
        (b'broker = "paper"\n[risk]\nmax_open_positions = -1\n', "max open positions"),
        (b"[risk]\ncapital = -100000\n", "capital"),
        (b"[risk]\nmax_quantity = 0\n", "max quantity"),
        (b"[risk]\ndaily_loss_limit_pct = nan\n", "daily loss limit"),
        (b"[risk]\nmax_order_value = inf\n", "max order value"),
        (b"[risk]\nprice_band_pct = 250\n", "price band"),
        (b'tick_interval_s = "fast"\n', "tick_interval_s"),
        (b"monitor_interval_s = -1\n", "monitor_interval_s"),
        (b"reconcile_interval_s = nan\n", "reconcile_interval_s"),
        (b'broker = "zerodha"\n', "broker"),
        (b"colour = 'dark'\n", "colour"),
        (b"[risk]\nmax_drawdown = 5\n", "max_drawdown"),
        (b"risk = 5\n", "risk"),
        (
            'broker = "paper"\n# ₹ रुपये\nconfirm_above_value = "1,00,000"\nrisk = {capital = \'x\'}\n'.encode(),
            "capital",
        ),
    ],
)
def test_hand_edited_settings_examples(tmp_path, text, complaint):
    settings_, warning = load_bad(tmp_path, text)
    assert warning is not None
    if complaint:
        assert complaint in warning, warning


@pytest.mark.parametrize(
    "text",
    [
        b'simulate_market = "no"\n',  # a string, not a bool: "no" would switch the market ON
        b"kite_api_key = 12345\n",
        b"kite_root = false\n",
        b"market_seed = 1.5\n",
        b"market_seed = false\n",
        b"confirm_above_value = -5\n",
    ],
)
def test_wrongly_typed_settings_are_not_accepted_silently(tmp_path, text):
    settings_, warning = load_bad(tmp_path, text)
    assert warning is not None, f"accepted: {text!r}"


def test_non_text_db_synchronous_does_not_crash_start(tmp_path):
    load_bad(tmp_path, b"db_synchronous = 5\n")


def test_unknown_keys_are_reported_by_name_and_the_file_kept(tmp_path):
    _, warning = load_bad(tmp_path, b'broker = "paper"\ntheme = "dark"\n')
    assert "theme" in warning and "settings.toml.bad-" in warning


# ---------------------------------------------------------------------- the database file


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def journal_file(tmp_path_factory, instruments):
    """A real journal with orders, events and trades (closed cleanly: no WAL)."""
    folder = tmp_path_factory.mktemp("journal")

    async def build():
        # 40 orders in a row without the validator's pacing: Kite's rate is not the point
        broker = PaperBroker(state_path=None, instruments=instruments, order_rate_limits=())
        broker.set_last_price("NSE", "INFY", Decimal("1500"))
        h = Oms(path=folder, broker=broker, instruments=instruments)
        await h.open()
        for i in range(40):
            await h.om.place_order(
                OrderRequest(
                    symbol="INFY",
                    exchange="NSE",
                    side=OrderSide.BUY,
                    quantity=1,
                    order_type=OrderType.LIMIT,
                    price=Decimal(1490 + i % 20),
                )
            )
        await h.close()

    asyncio.run(build())
    return folder / "oms.db"


def corrupt_middle(path: Path) -> None:
    """Random bytes over a page in use in the middle of the file (header and schema intact)."""
    data = bytearray(path.read_bytes())
    page = 4096
    rng = random.Random(6)
    for number in range(len(data) // page // 2, len(data) // page):
        trial = bytearray(data)
        for i in range(number * page, (number + 1) * page):
            trial[i] = rng.randrange(256)
        path.write_bytes(bytes(trial))
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            verdict = con.execute("PRAGMA quick_check").fetchone()[0]
            schema_ok = con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
        except sqlite3.DatabaseError:
            verdict, schema_ok = "error", False
        finally:
            con.close()
        if verdict != "ok" and schema_ok:
            return
    raise AssertionError("could not corrupt a page in use")


def damage(kind: str, path: Path) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "truncated-header":
        path.write_bytes(data[:60])
    elif kind == "garbage":
        path.write_bytes(random.Random(1).randbytes(len(data)))
    elif kind == "random-middle":
        corrupt_middle(path)
    elif kind == "newer-version":
        con = sqlite3.connect(path)
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        con.commit()
        con.close()
    elif kind == "other-program":
        path.unlink()
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        con.commit()
        con.close()


DAMAGE = ["truncated", "truncated-header", "garbage", "newer-version", "other-program"]


@pytest.mark.parametrize("kind", DAMAGE)
async def test_damaged_database_is_a_clear_error_and_left_untouched(tmp_path, journal_file, kind):
    path = tmp_path / "oms.db"
    shutil.copyfile(journal_file, path)
    damage(kind, path)
    before = sha(path)
    with pytest.raises(DatabaseError) as caught:
        db = await Database.open(path)
        await db.close()
    message = str(caught.value)
    assert str(path) in message and "untouched" in message, message
    if kind == "newer-version":
        assert isinstance(caught.value, DatabaseTooNew) and "newer version" in message
    else:
        assert isinstance(caught.value, NotAnOmsDatabase)
    assert sha(path) == before
    assert (
        not path.with_name("oms.db-wal").exists()
        or path.with_name("oms.db-wal").stat().st_size == 0
    )


async def test_database_with_random_bytes_in_the_middle_is_refused_untouched(
    tmp_path, journal_file
):
    path = tmp_path / "oms.db"
    shutil.copyfile(journal_file, path)
    damage("random-middle", path)
    before = sha(path)
    try:
        with pytest.raises(DatabaseError, match="corrupt"):
            db = await Database.open(path)
            try:  # what start-up does next: read the journal, write the install prefix
                db.journal.list_orders(active_only=True)
                db.set_state("probe", "x")
            finally:
                await db.close()
    finally:
        assert sha(path) == before


def test_risk_limits_refuse_nonsense(tmp_path):
    """The settings examples above rely on RiskLimits refusing these (ValueError)."""
    for bad in (
        {"capital": Decimal("-1")},
        {"max_open_positions": 0},
        {"price_band_pct": Decimal("NaN")},
    ):
        with pytest.raises(ValueError):
            RiskLimits(**bad)


# ---------------------------------------------------------------------- modify and the risk checks


@pytest.fixture
async def paper_app(tmp_path):
    from desktop_oms.app import Application

    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), with_window=False
    )
    await app.start()
    app.broker.set_last_price("NSE", "INFY", Decimal("1500"))
    yield app
    await app.stop()


async def resting_order(app, quantity: int = 5):
    request = OrderRequest(
        symbol="INFY",
        exchange="NSE",
        side=OrderSide.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=Decimal("1480"),
    )
    return await app.order_manager.place_order(request)


async def test_place_runs_the_fat_finger_checks(paper_app):
    """The baseline the two xfails below compare with."""
    limits = paper_app.settings.risk
    with pytest.raises(OrderRejected) as caught:
        await resting_order(paper_app, quantity=limits.max_quantity + 1)
    assert caught.value.failed_check in ("max_quantity", "max_order_value")


async def test_modify_runs_the_fat_finger_checks(paper_app):
    result = await resting_order(paper_app)
    huge = paper_app.settings.risk.max_quantity * 100
    with pytest.raises(OrderRejected):
        await paper_app.order_manager.modify_order(result.order_id, quantity=huge)
    [report] = [
        o for o in await paper_app.broker.orders() if o.broker_order_id == result.broker_order_id
    ]
    assert report.quantity == 5


async def test_modify_cannot_add_exposure_while_halted(paper_app):
    result = await resting_order(paper_app)
    paper_app.order_manager.halt("test halt")
    with pytest.raises(OrderRejected):
        await paper_app.order_manager.modify_order(result.order_id, quantity=50)
    [report] = [
        o for o in await paper_app.broker.orders() if o.broker_order_id == result.broker_order_id
    ]
    assert report.quantity == 5
