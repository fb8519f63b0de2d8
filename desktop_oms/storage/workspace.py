"""The trader's workspace in the database: Kite instruments cache, setups, notes, watchlists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select

from desktop_oms.domain import Instrument
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.connection import Store
from desktop_oms.storage.tables import instruments_cache, notes, setups, watchlist_items, watchlists

MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Watchlist:
    id: int
    name: str
    items: tuple[tuple[str, str], ...]  # (exchange, symbol) in display order


def _clean_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {what} needs a name")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValueError(f"a {what} name is at most {MAX_NAME} characters")
    return name


class InstrumentsCacheStore:
    """KiteBroker's InstrumentsCache: one instruments dump per day, older days dropped."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def load(self, day: date) -> list[Instrument] | None:
        with self._db.read() as conn:
            rows = conn.execute(
                instruments_cache.select().where(instruments_cache.c.day == day.isoformat())
            ).all()
        if not rows:
            return None
        return [
            Instrument(
                exchange=r.exchange,
                symbol=r.symbol,
                instrument_token=r.instrument_token,
                name=r.name,
                tick_size=r.tick_size,
                lot_size=r.lot_size,
                multiplier=r.multiplier,
                instrument_type=r.instrument_type,
                segment=r.segment,
                expiry=date.fromisoformat(r.expiry) if r.expiry else None,
                tradable=r.tradable,
            )
            for r in rows
        ]

    async def save(self, day: date, instruments) -> None:
        seen: set[tuple[str, str]] = set()
        values = []
        for i in instruments:
            if i.key in seen:
                continue
            seen.add(i.key)
            values.append(
                {
                    "day": day.isoformat(),
                    "exchange": i.exchange,
                    "symbol": i.symbol,
                    "instrument_token": i.instrument_token,
                    "name": i.name,
                    "tick_size": i.tick_size,
                    "lot_size": i.lot_size,
                    "multiplier": i.multiplier,
                    "instrument_type": i.instrument_type,
                    "segment": i.segment,
                    "expiry": i.expiry.isoformat() if i.expiry else None,
                    "tradable": i.tradable,
                }
            )
        with self._db.write() as conn:
            conn.execute(delete(instruments_cache))
            if values:
                conn.execute(instruments_cache.insert(), values)


class Workspace:
    def __init__(self, db: Store) -> None:
        self._db = db
        self.instruments_cache = InstrumentsCacheStore(db)

    # ------------------------------------------------------------------ setups
    def setups(self, include_inactive: bool = False) -> list[str]:
        query = select(setups.c.name).order_by(setups.c.position, setups.c.id)
        if not include_inactive:
            query = query.where(setups.c.active.is_(True))
        with self._db.read() as conn:
            return [r.name for r in conn.execute(query)]

    def set_setups(self, names: list[str]) -> list[str]:
        """Replace the list (order kept). Setups no longer listed stay on past orders."""
        cleaned: list[str] = []
        for name in names:
            name = _clean_name(name, "setup")
            if name.casefold() not in {n.casefold() for n in cleaned}:
                cleaned.append(name)
        with self._db.write() as conn:
            conn.execute(setups.update().values(active=False))
            for position, name in enumerate(cleaned):
                existing = conn.execute(select(setups.c.id).where(setups.c.name == name)).first()
                if existing:
                    conn.execute(
                        setups.update()
                        .where(setups.c.id == existing.id)
                        .values(position=position, active=True)
                    )
                else:
                    conn.execute(setups.insert().values(name=name, position=position, active=True))
        return cleaned

    # ------------------------------------------------------------------ notes
    def note_for_order(self, order_id: int) -> str:
        with self._db.read() as conn:
            row = conn.execute(select(notes.c.text).where(notes.c.order_id == order_id)).first()
        return row.text if row else ""

    def note_for_position(self, exchange: str, symbol: str, product: str) -> str:
        with self._db.read() as conn:
            row = conn.execute(
                select(notes.c.text).where(notes.c.position_key == f"{exchange}:{symbol}:{product}")
            ).first()
        return row.text if row else ""

    def set_order_note(self, order_id: int, text: str) -> None:
        self._set_note({"order_id": order_id}, notes.c.order_id == order_id, text)

    def set_position_note(self, exchange: str, symbol: str, product: str, text: str) -> None:
        key = f"{exchange}:{symbol}:{product}"
        self._set_note({"position_key": key}, notes.c.position_key == key, text)

    def _set_note(self, target: dict, where, text: str) -> None:
        if not isinstance(text, str):
            raise ValueError("a note is text")
        if len(text) > 10_000:
            raise ValueError("a note is at most 10,000 characters")
        with self._db.write() as conn:
            conn.execute(delete(notes).where(where))
            if text.strip():
                conn.execute(notes.insert().values(text=text, updated_at=utcnow(), **target))

    # ------------------------------------------------------------------ watchlists
    def watchlists(self) -> list[Watchlist]:
        with self._db.read() as conn:
            lists = conn.execute(
                watchlists.select().order_by(watchlists.c.position, watchlists.c.id)
            ).all()
            items = conn.execute(
                watchlist_items.select().order_by(
                    watchlist_items.c.watchlist_id, watchlist_items.c.position
                )
            ).all()
        by_list: dict[int, list[tuple[str, str]]] = {}
        for item in items:
            by_list.setdefault(item.watchlist_id, []).append((item.exchange, item.symbol))
        return [Watchlist(w.id, w.name, tuple(by_list.get(w.id, ()))) for w in lists]

    def create_watchlist(self, name: str) -> Watchlist:
        name = _clean_name(name, "watchlist")
        with self._db.write() as conn:
            if conn.execute(select(watchlists.c.id).where(watchlists.c.name == name)).first():
                raise ValueError(f"a watchlist named {name!r} exists already")
            position = (
                conn.execute(select(func.coalesce(func.max(watchlists.c.position), -1))).scalar()
                + 1
            )
            new_id = conn.execute(
                watchlists.insert().values(name=name, position=position)
            ).inserted_primary_key[0]
        return Watchlist(new_id, name, ())

    def rename_watchlist(self, watchlist_id: int, name: str) -> None:
        name = _clean_name(name, "watchlist")
        with self._db.write() as conn:
            conn.execute(
                watchlists.update().where(watchlists.c.id == watchlist_id).values(name=name)
            )

    def delete_watchlist(self, watchlist_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                delete(watchlist_items).where(watchlist_items.c.watchlist_id == watchlist_id)
            )
            conn.execute(delete(watchlists).where(watchlists.c.id == watchlist_id))

    def set_watchlist_items(self, watchlist_id: int, items: list[tuple[str, str]]) -> None:
        """Replace the symbols of a watchlist, in this order (duplicates dropped)."""
        unique = list(dict.fromkeys((e.upper(), s.upper()) for e, s in items))
        with self._db.write() as conn:
            conn.execute(
                delete(watchlist_items).where(watchlist_items.c.watchlist_id == watchlist_id)
            )
            if unique:
                conn.execute(
                    watchlist_items.insert(),
                    [
                        {"watchlist_id": watchlist_id, "exchange": e, "symbol": s, "position": i}
                        for i, (e, s) in enumerate(unique)
                    ],
                )
