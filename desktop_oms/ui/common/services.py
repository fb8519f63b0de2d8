"""What the window may use of the rest of the application: one explicit services object.

The application (its composition root) builds a `WindowServices` from what it started and
hands it to `MainWindow(services)`; the window never sees the Application itself, and
nothing in the UI probes for optional parts (`getattr(app, "risk_monitor", None)`): a part
that may be missing is typed `| None` here.

The Protocols below are the ports the UI sees: exactly the methods it calls, so a reader
knows what the window depends on and a test can hand it a small stand-in. The storage
repositories are the read/write models the window shows (workspace, reporting, P&L
history, the alerts log); they are not the database: the window never opens one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from desktop_oms.domain import Instrument

if TYPE_CHECKING:
    from desktop_oms.config import Settings
    from desktop_oms.marketdata.quotes import QuoteCache
    from desktop_oms.oms import EventBus, OrderManager, PositionManager
    from desktop_oms.risk import KillSwitch, RiskLimits

__all__ = [
    "AlertLog",
    "CandleSource",
    "InstrumentSource",
    "NoInstruments",
    "PnlHistory",
    "Reporting",
    "ReviewReports",
    "RiskServices",
    "Subscriptions",
    "WindowServices",
    "Workspace",
]


class InstrumentSource(Protocol):
    """Instrument look-ups (the ticket, the market watch, the modify dialog)."""

    def search(self, prefix: str, limit: int) -> list[Instrument]: ...
    def get(self, exchange: str, symbol: str) -> Instrument | None: ...


class CandleSource(Protocol):
    """The price chart's candles (marketdata.history.CandleHistory): the history of an
    instrument at an interval (cache, broker or paper mode's generator; a HistoryLoad
    with `.candles`, `.cut` and `.problem`), then the recorded minutes from the cut on
    as candles of that interval (the forming one last)."""

    async def load(
        self, exchange: str, symbol: str, interval: Any, *, days: int | None = None
    ) -> Any: ...
    def live(self, exchange: str, symbol: str, interval: Any, cut: int) -> list: ...
    def live_complete(self, exchange: str, symbol: str, cut: int) -> bool: ...
    def watch(self, exchange: str, symbol: str) -> None: ...


class NoInstruments:
    """The instrument source of a broker without an instruments list: nothing is known."""

    def search(self, prefix: str, limit: int) -> list[Instrument]:
        return []

    def get(self, exchange: str, symbol: str) -> Instrument | None:
        return None


class RiskServices(Protocol):
    """The risk layer as the window uses it: the limits in effect and changing them
    (validator, monitor, kill switch and settings.toml at once), the monitor's snapshot
    for the risk panel, the bracket manager for the blotter's tooltips, the GTT manager for the GTT tab."""

    @property
    def limits(self) -> RiskLimits: ...
    @property
    def monitor(self) -> Any | None: ...  # .snapshot: RiskSnapshot | None
    @property
    def brackets(self) -> Any | None: ...
    # .entry_of(order_id), .view(entry_id), .views(); the chart moves legs with
    # .move_stop(entry_id, price) and .move_target(entry_id, price) (a reason, or None)
    @property
    def gtt(self) -> Any | None: ...  # GttManager: .gtts(), .modify_gtt(), .delete_gtt()
    def update_limits(self, limits: RiskLimits) -> None: ...


class Workspace(Protocol):
    """The trader's workspace: watchlists, setups, notes on orders and positions."""

    def watchlists(self) -> list[Any]: ...
    def create_watchlist(self, name: str) -> Any: ...
    def rename_watchlist(self, watchlist_id: int, name: str) -> None: ...
    def delete_watchlist(self, watchlist_id: int) -> None: ...
    def set_watchlist_items(self, watchlist_id: int, items: list[tuple[str, str]]) -> None: ...
    def setups(self) -> list[str]: ...
    def set_setups(self, names: list[str]) -> list[str]: ...
    def note_for_order(self, order_id: int) -> str: ...
    def set_order_note(self, order_id: int, text: str) -> None: ...
    def note_for_position(self, exchange: str, symbol: str, product: str) -> str: ...
    def set_position_note(self, exchange: str, symbol: str, product: str, text: str) -> None: ...


class Reporting(Protocol):
    """The day review's fills (with their setups, charges and stop-losses)."""

    def review_fills(self, since: datetime, until: datetime) -> list[Any]: ...


class PnlHistory(Protocol):
    """P&L snapshots taken through the day (.at, .total_pnl, .realized_pnl, .net_pnl)."""

    def pnl_snapshots(self, since: datetime) -> list[Any]: ...


class AlertLog(Protocol):
    """Where the alerts panel keeps the trading day's alerts."""

    @property
    def closed(self) -> bool: ...
    def append(self, records: Iterable[Any]) -> int: ...
    def between(self, start: datetime, end: datetime, *, limit: int | None = None) -> list: ...
    def prune(self, today_start: datetime) -> int: ...


class ReviewReports(Protocol):
    """The day review's exports, the same files `desktop-oms export review` writes."""

    def write_review_csv(self, path: Path, stats: Sequence[Any], trips: Sequence[Any]) -> int: ...
    def write_review_html(
        self,
        path: Path,
        title: str,
        stats: Sequence[Any],
        trips: Sequence[Any],
        points: Sequence[Any],
    ) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowServices:
    """Everything the window uses of the application.

    `settings` are the settings the application started with (the state file, the data
    file, the confirmation threshold, the broker's name); the risk limits in effect are
    `risk.limits` (they change while the window is open). `broker` is the Broker port,
    for its name and connection status only: orders go through `order_manager`.
    """

    settings: Settings
    events: EventBus
    order_manager: OrderManager
    position_manager: PositionManager
    kill_switch: KillSwitch | None
    quotes: QuoteCache
    instruments: InstrumentSource | None
    broker: Any
    risk: RiskServices
    workspace: Workspace
    reporting: Reporting
    pnl_history: PnlHistory
    alert_log: AlertLog
    reports: ReviewReports
    subscribe: Callable[[Iterable[tuple[str, str]]], None]  # stream these instruments
    pnl_now: Callable[[], Any]  # today's P&L now (a PnlSnapshot)
    data_file: Path  # the database file, shown in the title and the status bar
    # Index options (issue 16): the option chains (an OptionChainService: .underlyings(),
    # .expiries(u), .snapshot(u, expiry), .subscriptions(...)) and the basket preview (a
    # BasketPreviewer: await .preview(legs)); None where the broker lists no options.
    chains: Any | None = None
    basket: Any | None = None
    # the price chart's history and live candles (None: no chart history)
    candles: CandleSource | None = None
    # stream these instruments with their five-level depth (the depth ladder)
    subscribe_depth: Callable[[Iterable[tuple[str, str]]], None] | None = None

    @property
    def instrument_source(self) -> InstrumentSource:
        """The instruments, or a source that knows none (a broker without a list)."""
        return self.instruments if self.instruments is not None else NoInstruments()

    @property
    def broker_name(self) -> str:
        return str(getattr(self.broker, "name", None) or self.settings.broker)


class Subscriptions:
    """A window part's subscriptions to the OMS event bus, ended together at shutdown.

    Handlers run on the loop thread (the GUI thread under qasync): they only store or
    queue, never block."""

    def __init__(self, events: EventBus) -> None:
        self._events = events
        self._unsubscribe: list[Callable[[], None]] = []

    def add(self, event_type: type, handler: Callable[[Any], None]) -> None:
        self._unsubscribe.append(self._events.subscribe(event_type, handler))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
