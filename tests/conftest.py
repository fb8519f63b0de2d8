"""Suite-wide test settings.

The paper broker refuses fresh MIS entries from Zerodha's auto square-off time until the
segment's close (15:20-15:30 IST for NSE, Mon-Fri; domain/cutoffs.py), as Kite does, and
the pre-trade validator predicts it. Tests run at any time of day on the wall clock, so a
test placing a MIS entry would fail ten minutes a day: the rule is off for every test in
this process except those marked `mis_cutoff` (they set the paper broker's or the
validator's clock themselves). Nothing else in the suite depends on the time of day.
"""

from __future__ import annotations

import pytest


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "mis_cutoff: the paper broker keeps Zerodha's MIS entry cut-off (the test sets "
        "the paper clock itself)",
    )


@pytest.fixture(autouse=True)
def _paper_mis_cutoff_only_where_the_clock_is_set(request, monkeypatch):
    if request.node.get_closest_marker("mis_cutoff") is None:
        monkeypatch.setattr("desktop_oms.domain.cutoffs.ZERODHA_MIS_CUTOFFS", {})
