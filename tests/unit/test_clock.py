"""The app's one clock (desktop_oms.infra.clock): IST whatever the machine's zone, the
trading day is the IST day, and every module's IST is this one.

The machine's zone is set (TZ + time.tzset()) to zones far from IST and restored after;
expected values are written out, never computed with the code under test.
"""

from __future__ import annotations

import pathlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers import FAR_ZONES, machine_zone

SHIFT = timedelta(hours=5, minutes=30)
# 18:45:30.123 UTC on 4 May is 00:15:30.123 IST on 5 May: the next IST trading day.
LATE = datetime(2026, 5, 4, 18, 45, 30, 123456, tzinfo=UTC)


@pytest.fixture(params=list(FAR_ZONES.values()), ids=list(FAR_ZONES))
def far_zone(request):
    with machine_zone(request.param):
        # the zone really is in effect: the machine's local time is not IST
        assert datetime.fromtimestamp(LATE.timestamp()).strftime("%H:%M") != "00:15"
        yield request.param


def test_the_clock_module_is_ist_whatever_the_zone(far_zone):
    from desktop_oms.infra import clock

    assert clock.IST.utcoffset(None) == SHIFT
    assert clock.to_ist(LATE).isoformat() == "2026-05-05T00:15:30.123456+05:30"
    assert clock.trading_day(LATE) == date(2026, 5, 5)  # 18:45 UTC: tomorrow in India
    assert clock.trading_day(datetime(2026, 5, 4, 18, 29, 59, tzinfo=UTC)) == date(2026, 5, 4)
    assert clock.format_time(LATE) == "00:15:30"
    assert clock.format_time(LATE, seconds=False) == "00:15"
    assert clock.format_time(LATE, millis=True) == "00:15:30.123"
    assert clock.format_date_time(LATE) == "2026-05-05 00:15:30"
    assert clock.file_stamp(LATE) == "20260505-0015"
    assert clock.day_start(LATE) == datetime(2026, 5, 4, 18, 30, tzinfo=UTC)
    assert clock.day_bounds(date(2026, 5, 5)) == (
        datetime(2026, 5, 4, 18, 30, tzinfo=UTC),
        datetime(2026, 5, 5, 18, 30, tzinfo=UTC),
    )
    now = datetime.now(UTC)
    assert abs(clock.now_ist() - now) < timedelta(seconds=5)
    assert clock.now_ist().utcoffset() == SHIFT
    with pytest.raises(ValueError, match="naive"):
        clock.to_ist(datetime(2026, 5, 4, 18, 45))


def test_the_one_clock_is_the_only_definition_of_ist():
    """No module defines its own India time (a second clock is how the blotter and the day
    review once disagreed): only infra/clock.py builds the +05:30 zone."""
    import desktop_oms

    root = pathlib.Path(desktop_oms.__file__).parent
    own_zone = re.compile(r"Asia/Kolkata|hours=5,\s*minutes=30|timedelta\(minutes=330\)")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path != root / "infra" / "clock.py" and own_zone.search(path.read_text())
    ]
    assert offenders == []


def test_trading_days_are_ist_days(far_zone):
    from desktop_oms.exports import day_range
    from desktop_oms.infra.clock import trading_day as ist_trading_day
    from desktop_oms.oms.position_manager import day_start as positions_day_start
    from desktop_oms.ui.shell.live_updates import day_start as window_day_start

    midnight = datetime(2026, 5, 4, 18, 30, tzinfo=UTC)  # 00:00 IST on 5 May
    assert window_day_start(LATE) == midnight
    assert positions_day_start(LATE) == midnight
    assert ist_trading_day(LATE) == date(2026, 5, 5)
    assert day_range(date(2026, 5, 5), date(2026, 5, 5)) == (midnight, midnight + timedelta(1))
