"""Persistence of the risk layer: bracket links, achievements, the risk audit trail and
small JSON state blobs (kill switch, day baseline, achievement counters) in app_state."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desktop_oms.domain import OrderSide, Product
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.risk_tables import achievements, bracket_links, risk_events
from desktop_oms.storage.tables import orders

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BracketLink:
    entry_order_id: int
    exchange: str
    symbol: str
    product: Product
    side: OrderSide  # the entry's side
    stop_loss: Decimal | None
    take_profit: Decimal | None
    stop_enabled: bool = True
    target_enabled: bool = True
    status: str = "active"
    status_message: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, Product]:
        return (self.exchange, self.symbol, self.product)

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class AchievementRecord:
    code: str
    period: str
    title: str
    message: str
    details: dict | None
    achieved_at: datetime


@dataclass(frozen=True, slots=True)
class RiskEventRecord:
    id: int
    at: datetime
    kind: str
    message: str
    details: dict | None


def _link_from_row(r) -> BracketLink:
    return BracketLink(
        entry_order_id=r.entry_order_id,
        exchange=r.exchange,
        symbol=r.symbol,
        product=Product(r.product),
        side=OrderSide(r.side),
        stop_loss=r.stop_loss,
        take_profit=r.take_profit,
        stop_enabled=bool(r.stop_enabled),
        target_enabled=bool(r.target_enabled),
        status=r.status,
        status_message=r.status_message,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


class RiskStore:
    def __init__(self, db) -> None:
        self.db = db

    # ------------------------------------------------------------------ JSON state
    def get_json(self, key: str) -> dict | None:
        raw = self.db.get_state(key)
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            log.error("risk state %s is unreadable; ignoring it", key)
            return None
        return value if isinstance(value, dict) else None

    def set_json(self, key: str, value: dict) -> None:
        self.db.set_state(key, json.dumps(value, default=str, sort_keys=True))

    # ------------------------------------------------------------------ audit
    def audit(self, kind: str, message: str, details: dict | None = None) -> None:
        """Append to risk_events. Never raises (the action it records already happened)."""
        try:
            with self.db.write() as conn:
                conn.execute(
                    risk_events.insert().values(
                        at=utcnow(),
                        kind=kind,
                        message=message,
                        details=json.dumps(details, default=str, sort_keys=True)
                        if details
                        else None,
                    )
                )
        except Exception:  # noqa: BLE001
            log.exception("could not write risk audit event %s: %s", kind, message)

    def audit_log(self, limit: int = 500, kind: str | None = None) -> list[RiskEventRecord]:
        query = risk_events.select().order_by(risk_events.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(risk_events.c.kind == kind)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            RiskEventRecord(
                r.id, r.at, r.kind, r.message, json.loads(r.details) if r.details else None
            )
            for r in reversed(rows)
        ]

    # ------------------------------------------------------------------ brackets
    def add_bracket(self, link: BracketLink) -> bool:
        """Insert a link; False if the entry already has one."""
        now = utcnow()
        try:
            with self.db.write() as conn:
                conn.execute(
                    bracket_links.insert().values(
                        entry_order_id=link.entry_order_id,
                        exchange=link.exchange,
                        symbol=link.symbol,
                        product=link.product.value,
                        side=link.side.value,
                        stop_loss=link.stop_loss,
                        take_profit=link.take_profit,
                        stop_enabled=link.stop_enabled,
                        target_enabled=link.target_enabled,
                        status=link.status,
                        status_message=link.status_message,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def update_bracket(self, entry_order_id: int, **changes) -> None:
        changes["updated_at"] = utcnow()
        with self.db.write() as conn:
            conn.execute(
                bracket_links.update()
                .where(bracket_links.c.entry_order_id == entry_order_id)
                .values(**changes)
            )

    def bracket(self, entry_order_id: int) -> BracketLink | None:
        with self.db.read() as conn:
            row = conn.execute(
                bracket_links.select().where(bracket_links.c.entry_order_id == entry_order_id)
            ).first()
        return None if row is None else _link_from_row(row)

    def brackets(self, *, active_only: bool = False) -> list[BracketLink]:
        query = bracket_links.select().order_by(bracket_links.c.entry_order_id)
        if active_only:
            query = query.where(bracket_links.c.status == "active")
        with self.db.read() as conn:
            return [_link_from_row(r) for r in conn.execute(query).all()]

    def exit_order_ids(self, entry_order_id: int) -> list[int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(orders.c.id)
                .where(orders.c.parent_order_id == entry_order_id)
                .where(orders.c.source == "bracket")
                .order_by(orders.c.id)
            ).all()
        return [r.id for r in rows]

    # ------------------------------------------------------------------ achievements
    def add_achievement(
        self, code: str, period: str, title: str, message: str, details: dict | None = None
    ) -> bool:
        """Record an achievement; False if it was already recorded for this period."""
        try:
            with self.db.write() as conn:
                conn.execute(
                    achievements.insert().values(
                        code=code,
                        period=period,
                        title=title,
                        message=message,
                        details=json.dumps(details, default=str, sort_keys=True)
                        if details
                        else None,
                        achieved_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def achievements(self, limit: int = 200) -> list[AchievementRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                achievements.select().order_by(achievements.c.id.desc()).limit(limit)
            ).all()
        return [
            AchievementRecord(
                r.code,
                r.period,
                r.title,
                r.message,
                json.loads(r.details) if r.details else None,
                r.achieved_at,
            )
            for r in reversed(rows)
        ]
