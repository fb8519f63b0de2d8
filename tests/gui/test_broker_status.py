"""The broker's connection state in the status bar: a broker with a live stream (Kite's
interface: add_stream_state_listener, stream_status, session_expired,
add_session_expired_listener) shows connected / reconnecting (amber) / expired (red, and
"Kite session expired — log in") / stopped; the paper broker shows "paper"."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from desktop_oms.app import Application
from desktop_oms.brokers.kite.stream.stream import StreamState, StreamStatus
from desktop_oms.brokers.paper import PaperBroker
from desktop_oms.config import Settings
from desktop_oms.infra.clock import utcnow
from desktop_oms.ui.shell.broker_status import BrokerStatus
from desktop_oms.ui.shell.status_bar import OmsStatusBar


class StreamingPaperBroker(PaperBroker):
    """The paper exchange behind Kite's connection interface, so the real window can be
    shown a stream's states (fills and prices still come from the paper broker)."""

    name = "kite"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.state_listeners = []
        self.expired_listeners = []
        self._status = StreamStatus(StreamState.CONNECTING)
        self._expired = False

    # Kite's interface
    def add_stream_state_listener(self, listener) -> None:
        self.state_listeners.append(listener)

    def add_session_expired_listener(self, listener) -> None:
        self.expired_listeners.append(listener)

    @property
    def stream_status(self) -> StreamStatus:
        return self._status

    @property
    def session_expired(self) -> bool:
        return self._expired

    def set_access_token(self, token: str) -> None:
        self._expired = False

    # test controls
    def push(self, state: StreamState, **kw) -> None:
        self._status = StreamStatus(state, **kw)
        for listener in self.state_listeners:
            listener(self._status)

    def expire(self, reason: str = "TokenException: token expired") -> None:
        self._expired = True
        self.push(StreamState.EXPIRED, error=reason)
        for listener in self.expired_listeners:
            listener(reason)


@pytest.fixture
def bar(qtbot):
    bar = OmsStatusBar()
    qtbot.addWidget(bar)
    bar.show()
    return bar


def test_stream_states_are_worded_and_coloured(bar, qtbot):
    broker = StreamingPaperBroker()
    status = BrokerStatus(broker, bar, "kite")
    assert broker.state_listeners == [status._on_state]
    status.refresh()
    assert (bar.broker.text(), bar.broker.property("level")) == (
        "kite \u00b7 connecting\u2026",
        "warn",
    )
    broker.push(StreamState.CONNECTED, last_tick_at=utcnow())
    status.refresh()
    assert (bar.broker.text(), bar.broker.property("level")) == ("kite \u00b7 connected", "ok")
    assert "last tick" in bar.broker.toolTip()
    broker.push(StreamState.RECONNECTING, connection_attempts=3, reconnects=1, error="timed out")
    status.refresh()
    assert (bar.broker.text(), bar.broker.property("level")) == ("broker reconnecting", "warn")
    tip = bar.broker.toolTip()
    assert "attempt 3" in tip and "1 reconnect so far" in tip and "timed out" in tip
    assert bar.session.isHidden()
    broker.push(StreamState.STOPPED)
    status.refresh()
    assert (bar.broker.text(), bar.broker.property("level")) == (
        "kite \u00b7 stream stopped",
        "error",
    )
    broker.expire()
    status.refresh()
    assert (bar.broker.text(), bar.broker.property("level")) == (
        "kite \u00b7 session expired",
        "error",
    )
    assert bar.session.isVisible()
    assert bar.session.text() == "Kite session expired \u2014 log in"
    assert bar.session.property("level") == "error"
    assert "token expired" in bar.session.toolTip()
    # a new token (re-login) and a reconnected stream: the red label goes
    broker.set_access_token("new")
    broker.push(StreamState.CONNECTED)
    status.refresh()
    assert bar.broker.text() == "kite \u00b7 connected" and bar.session.isHidden()


def test_listeners_only_store_and_a_burst_costs_one_redraw(bar):
    broker = StreamingPaperBroker()
    status = BrokerStatus(broker, bar, "kite")
    status.refresh()
    for _ in range(1000):  # a reconnect storm: nothing touches Qt until refresh()
        broker.push(StreamState.RECONNECTING)
        broker.push(StreamState.CONNECTING)
    assert bar.broker.text() == "kite \u00b7 connecting\u2026"
    broker.push(StreamState.CONNECTED)
    assert bar.broker.text() == "kite \u00b7 connecting\u2026"  # not yet drawn
    status.refresh()
    assert bar.broker.text() == "kite \u00b7 connected"


def test_the_paper_broker_is_paper(bar):
    status = BrokerStatus(PaperBroker(), bar)
    status.refresh()
    assert bar.broker.text().startswith("paper")
    assert bar.broker.property("level") == "ok"
    assert "Paper broker" in bar.broker.toolTip()
    assert bar.session.isHidden()


@pytest.fixture
def kite_like_app(qtbot, arun, tmp_path):
    broker = StreamingPaperBroker()
    app = Application(
        Settings(data_dir=tmp_path, broker="paper", simulate_market=False), broker=broker
    )
    arun(app.start())
    app.window.show()
    qtbot.waitExposed(app.window)
    yield app, broker
    if app._started:
        arun(app.stop())
    app.window.close()
    app.window.deleteLater()


def test_the_window_shows_a_streaming_brokers_states(qtbot, kite_like_app, caplog):
    app, broker = kite_like_app
    w = app.window
    status = w.status
    assert len(broker.state_listeners) == 1  # the window's, registered once
    w.live.refresh()
    assert status.broker.text() == "kite \u00b7 connecting\u2026"
    broker.push(StreamState.CONNECTED)
    qtbot.waitUntil(lambda: status.broker.text() == "kite \u00b7 connected", timeout=2000)
    assert status.broker.property("level") == "ok"

    # the network drops: amber "broker reconnecting" and "market data stale N s"
    broker.push(StreamState.RECONNECTING, connection_attempts=2)
    app.quotes.last_tick_at = utcnow() - timedelta(seconds=12)
    w.live.refresh()
    assert (status.broker.text(), status.broker.property("level")) == (
        "broker reconnecting",
        "warn",
    )
    assert status.market_data.text() == "market data stale 12 s"
    assert status.market_data.property("level") == "warn"
    broker.push(StreamState.CONNECTED)
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))
    qtbot.waitUntil(
        lambda: (w.live.refresh(), status.market_data.text())[1].startswith("market data live"),
        timeout=2000,
    )
    assert status.broker.text() == "kite \u00b7 connected"

    # the session expires: the app halts (and would open the login dialog); red label
    broker.expire()
    app._on_session_expired("TokenException: token expired")
    caplog.clear()  # the expiry is logged as an error, as it should be
    w.live.refresh()
    assert status.session.isVisible()
    assert status.session.text() == "Kite session expired \u2014 log in"
    assert status.broker.property("level") == "error"
    assert status.trading.text() == "HALTED"
    assert not w.ticket.buy_button.isEnabled()
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == []
