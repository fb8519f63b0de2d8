"""The OMS and the whole app on KiteBroker against KiteTestServer, for end-to-end tests.

    h = await KiteOms.open(tmp_path, server)          # OrderManager + KiteBroker (+ stream)
    app = await start_kite_app(tmp_path, server)      # Application(broker="kite"), headless

Both use the real `kiteconnect` client; the OMS harness records every event it publishes.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from desktop_oms.domain.events import Alert, Event, OrderStatusChanged
from desktop_oms.marketdata.instruments import InstrumentStore
from tests.kite_server.helpers import make_broker
from tests.kite_server.server import KiteTestServer


class KiteOms(SimpleNamespace):
    """Database + PositionManager + OrderManager on a KiteBroker, events recorded."""

    @classmethod
    async def open(
        cls,
        path: Path,
        server: KiteTestServer,
        *,
        stream: bool = False,
        broker_options: dict | None = None,
        **om_options,
    ) -> KiteOms:
        from desktop_oms.oms import EventBus, OrderManager, PositionManager
        from desktop_oms.storage import Database

        broker = make_broker(server, stream=stream, **(broker_options or {}))
        instruments = InstrumentStore(
            {i.key: i for i in await broker.instruments()}.values()
        )  # Kite's dump can repeat a symbol: keep one row, as the app does
        h = cls(path=Path(path), server=server, broker=broker, instruments=instruments)
        h.db = await Database.open(h.path / "oms.db")
        h.events = EventBus()
        h.recorded = []
        h.events.subscribe(Event, h.recorded.append)

        def multiplier_for(exchange: str, symbol: str) -> Decimal:
            instrument = instruments.get(exchange, symbol)
            return instrument.multiplier if instrument is not None else Decimal(1)

        h.pm = PositionManager(h.db, h.events, multiplier_for)
        options = {
            "monitor_interval": 0.05,
            "reconcile_interval": 3600,
            "unknown_outcome_grace": 0.3,
        }
        options.update(om_options)
        h.om = OrderManager(
            db=h.db,
            broker_client=broker,
            position_manager=h.pm,
            events=h.events,
            instruments=instruments,
            **options,
        )
        await h.om.start()
        return h

    async def close(self) -> None:
        if self.om.started:
            await self.om.stop()
        if not self.db.closed:
            await self.db.close()
        await self.broker.close()

    def alerts(self, level: str | None = None) -> list[str]:
        return [
            e.message
            for e in self.recorded
            if isinstance(e, Alert) and (level is None or e.level == level)
        ]

    def statuses(self, order_id: int) -> list:
        """Every status the journal gave the order, in order (from the published events)."""
        return [
            e.new_status
            for e in self.recorded
            if isinstance(e, OrderStatusChanged) and e.order.id == order_id
        ]


def kite_settings(tmp_path: Path, server: KiteTestServer, **kw):
    from desktop_oms.config import Settings

    return Settings(
        data_dir=tmp_path,
        broker="kite",
        kite_api_key=kw.pop("api_key", server.api_key),
        kite_root=server.root,
        kite_ticker_root=server.ticker_root,
        monitor_interval_s=0.05,
        **kw,
    )


def kite_credentials(server: KiteTestServer, *, token: bool = True):
    from desktop_oms.brokers.kite.credentials import CredentialStore
    from tests.helpers import MemoryKeyring

    store = CredentialStore(backend=MemoryKeyring())
    if token:
        store.set_access_token(server.api_key, server.access_token, None)
    return store


async def start_kite_app(tmp_path: Path, server: KiteTestServer, *, login=None, **settings):
    """The whole application on `--broker kite`, without a window, already started."""
    from desktop_oms.app import Application

    app = Application(
        kite_settings(tmp_path, server, **settings),
        with_window=False,
        credentials=kite_credentials(server),
        login=login,
    )
    await app.start()
    return app


async def stream_price(app, server: KiteTestServer, exchange: str, symbol: str, price) -> None:
    """Stream a last price for the instrument and wait until the app has it."""
    from tests.helpers import until

    app.subscribe([(exchange, symbol)])
    token = server.tokens[(exchange, symbol)]
    await until(lambda: token in server.ticker.subscribed(), timeout=5)
    server.set_price(exchange, symbol, price)
    server.ticker.push_tick(token, Decimal(str(price)))
    await until(lambda: app.quotes.last_price(exchange, symbol) == Decimal(str(price)), timeout=5)


__all__ = ["KiteOms", "kite_credentials", "kite_settings", "start_kite_app", "stream_price"]
