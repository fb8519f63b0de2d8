"""The trading journal: the day review, the trader's setups and per-trade notes.

Entry points: `ReviewPanel(fills, snapshots, reports)` (panel.py; dock "dayReview"): round
trips of a date range grouped by setup, exported as CSV or an HTML report;
`SetupsDialog` (setups.py); `NoteDialog` and the `NoteMarks` delegate that marks rows
with a note (notes.py).

Invariants: dates are IST trading days; the review's numbers are the same as
`desktop-oms export review`; editors are non-modal and keep typed text when the window
closes.
"""

from desktop_oms.ui.review.notes import NoteDialog, NoteMarks, position_key
from desktop_oms.ui.review.panel import ReviewPanel
from desktop_oms.ui.review.setups import SetupsDialog

__all__ = ["NoteDialog", "NoteMarks", "ReviewPanel", "SetupsDialog", "position_key"]
