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
