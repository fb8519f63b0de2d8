"""Exchange rules the OMS applies before journaling (issue 14 item 7): IOC is not
accepted on MCX for API orders since April 2026; the ticket offers what is allowed."""

from __future__ import annotations

from desktop_oms.domain import Validity
from desktop_oms.oms import allowed_validities, validity_problem


def test_ioc_is_offered_everywhere_but_mcx():
    assert allowed_validities("NSE") == (Validity.DAY, Validity.IOC)
    assert allowed_validities("NFO") == (Validity.DAY, Validity.IOC)
    assert allowed_validities("CDS") == (Validity.DAY, Validity.IOC)
    assert allowed_validities("MCX") == (Validity.DAY,)
    assert allowed_validities("mcx") == (Validity.DAY,)


def test_ioc_on_mcx_is_refused_with_the_rule():
    problem = validity_problem("MCX", Validity.IOC)
    assert problem is not None and "IOC" in problem and "MCX" in problem and "DAY" in problem
    assert validity_problem("MCX", Validity.DAY) is None
    assert validity_problem("NSE", Validity.IOC) is None


def test_the_stream_watchdog_is_armed_whenever_a_kite_segment_trades():
    from datetime import datetime

    from desktop_oms.brokers.kite.stream.stream import is_kite_session_hours
    from desktop_oms.infra.clock import IST

    tuesday = datetime(2026, 12, 8, tzinfo=IST)
    at = lambda h, m: tuesday.replace(hour=h, minute=m)  # noqa: E731
    assert not is_kite_session_hours(at(8, 59))
    assert is_kite_session_hours(at(9, 0))  # MCX and CDS open, NSE's pre-open
    assert is_kite_session_hours(at(15, 45))  # after NSE: CDS and MCX
    assert is_kite_session_hours(at(23, 30))  # MCX's evening session
    assert is_kite_session_hours(at(23, 55))  # until 23:55 in the US winter
    assert not is_kite_session_hours(at(23, 56))
    saturday = datetime(2026, 12, 12, 11, 0, tzinfo=IST)
    assert not is_kite_session_hours(saturday)
