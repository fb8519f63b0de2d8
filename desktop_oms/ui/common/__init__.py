"""What the window's features share.

- Tables: `Column` and its factories (columns.py), `KeyedTableModel` (table_model.py: rows
  keyed by id, coalesced updates, in-model sort and filter, CSV export), table views with
  the house settings and selection helpers (tables.py).
- Text and colour: `format` (IST times, rupees, Indian digit grouping), `theme` (the dark
  palette, buy/sell and P&L colours).
- Input: money and quantity fields that never turn bad text into a number (fields.py),
  symbol completion over the instruments (symbols.py).
- Dialogs that never block (`confirm`, `ModifyOrderDialog`; open() and signals only), the
  notice bar under a panel, and `TaskRunner` (coroutines from Qt slots as kept tasks whose
  failures are always shown).
- `WindowServices` (services.py): everything the window may use of the application, with
  the ports it sees (instruments, risk services, workspace, reporting, P&L history, alerts
  log, review exports, the chart's candles) and `Subscriptions` to the OMS event bus.

Modules of this package import each other by module path, never through this front.
"""

from desktop_oms.ui.common import dialogs, format, theme
from desktop_oms.ui.common.columns import (
    CENTER,
    ITEM_ROLE,
    KEY_ROLE,
    LEFT,
    RIGHT,
    SORT_ROLE,
    Column,
    enum_column,
    num_column,
    pnl_column,
    side_column,
    text_column,
    time_column,
)
from desktop_oms.ui.common.dialogs import ModifyOrderDialog, confirm
from desktop_oms.ui.common.fields import (
    PriceEdit,
    QuantitySpinBox,
    clean_number_text,
    parse_decimal_text,
    parse_int_text,
)
from desktop_oms.ui.common.notice import NoticeBar
from desktop_oms.ui.common.services import (
    AlertLog,
    CandleSource,
    InstrumentSource,
    NoInstruments,
    PnlHistory,
    Reporting,
    ReviewReports,
    RiskServices,
    Subscriptions,
    WindowServices,
    Workspace,
)
from desktop_oms.ui.common.symbols import EXCHANGE_ROLE, SYMBOL_ROLE, SymbolCompleter
from desktop_oms.ui.common.table_model import KeyedTableModel, export_csv, export_value
from desktop_oms.ui.common.tables import (
    copy_rows,
    make_table,
    move_columns_last,
    rows_as_text,
    selected_items,
    selected_rows,
    size_columns,
)
from desktop_oms.ui.common.tasks import TaskRunner, describe_error
from desktop_oms.ui.common.theme import apply_dark_theme

__all__ = [
    "CENTER",
    "EXCHANGE_ROLE",
    "ITEM_ROLE",
    "KEY_ROLE",
    "LEFT",
    "RIGHT",
    "SORT_ROLE",
    "SYMBOL_ROLE",
    "AlertLog",
    "CandleSource",
    "Column",
    "InstrumentSource",
    "KeyedTableModel",
    "ModifyOrderDialog",
    "NoInstruments",
    "NoticeBar",
    "PnlHistory",
    "PriceEdit",
    "QuantitySpinBox",
    "Reporting",
    "ReviewReports",
    "RiskServices",
    "Subscriptions",
    "SymbolCompleter",
    "TaskRunner",
    "WindowServices",
    "Workspace",
    "apply_dark_theme",
    "clean_number_text",
    "confirm",
    "copy_rows",
    "describe_error",
    "dialogs",
    "export_csv",
    "export_value",
    "format",
    "make_table",
    "move_columns_last",
    "enum_column",
    "num_column",
    "parse_decimal_text",
    "parse_int_text",
    "pnl_column",
    "rows_as_text",
    "selected_items",
    "selected_rows",
    "size_columns",
    "side_column",
    "text_column",
    "theme",
    "time_column",
]
