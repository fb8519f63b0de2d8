"""EventBus: delivery by type and base type, isolation of failing handlers, holding
events for a group commit, and subscriptions changing while events are delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from desktop_oms.domain.events import Alert, Event
from desktop_oms.oms import EventBus


@dataclass(frozen=True)
class Special(Alert):
    pass


def _alert(text: str = "x", cls=Alert):
    return cls(level="info", message=text, at=datetime(2026, 11, 24, tzinfo=UTC), source="t")


def test_handlers_of_the_type_and_its_bases_are_called_in_order():
    bus, seen = EventBus(), []
    bus.subscribe(Event, lambda e: seen.append(("event", e.message)))
    bus.subscribe(Alert, lambda e: seen.append(("alert", e.message)))
    bus.publish(_alert("a"))
    bus.publish(_alert("s", Special))
    assert seen == [("alert", "a"), ("event", "a"), ("alert", "s"), ("event", "s")]
    bus.subscribe(Special, lambda e: seen.append(("special", e.message)))  # after first use
    seen.clear()
    bus.publish(_alert("s2", Special))
    assert seen == [("special", "s2"), ("alert", "s2"), ("event", "s2")]


def test_a_failing_handler_is_reported_and_the_others_still_run():
    bus, seen, errors = EventBus(), [], []
    bus.on_handler_error = lambda h, e, exc: errors.append(str(exc))
    bus.subscribe(Alert, lambda e: 1 / 0)
    bus.subscribe(Alert, seen.append)
    bus.publish(_alert())
    assert len(seen) == 1 and errors == ["division by zero"]


def test_a_handler_unsubscribed_during_delivery_is_not_called_after():
    bus, seen = EventBus(), []
    remove_later = {}

    def first(event):
        seen.append("first")
        remove_later["base"]()

    bus.subscribe(Alert, first)
    remove_later["base"] = bus.subscribe(Event, lambda e: seen.append("base"))
    bus.publish(_alert())
    assert seen == ["first"]
    bus.publish(_alert())
    assert seen == ["first", "first"]


def test_held_events_are_published_after_the_block_or_dropped_if_it_fails():
    bus, seen = EventBus(), []
    bus.subscribe(Alert, lambda e: seen.append(e.message))
    with bus.held():
        bus.publish(_alert("1"))
        with bus.held():  # nested: joins the outer block
            bus.publish(_alert("2"))
        assert seen == []
    assert seen == ["1", "2"]
    with pytest.raises(RuntimeError), bus.held():
        bus.publish(_alert("3"))
        raise RuntimeError("rolled back")
    assert seen == ["1", "2"]
    bus.publish(_alert("4"))
    assert seen == ["1", "2", "4"]
