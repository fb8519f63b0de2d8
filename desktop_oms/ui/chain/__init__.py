"""Index options in the window (issue 16): the option chain dock ("optionChain"), the
basket dock ("basketDock"), the options hotkeys and the links to the chain.

Entry point: `OptionsUi(window, services)` (controller.py), built by the main window.
Parts: `ChainModel` (keyed by strike) and `OptionChainPanel` (selectors, facts, the
table, coalesced refresh), `BasketPanel` (legs, preview, send), `underlying_of`.
"""

from desktop_oms.ui.chain.basket import BasketLegRow, BasketModel, BasketPanel
from desktop_oms.ui.chain.controller import OPTION_KEYS, OptionsUi
from desktop_oms.ui.chain.model import PRICE_SIDES, ChainCell, ChainModel
from desktop_oms.ui.chain.panel import REFRESH_MS, OptionChainPanel
from desktop_oms.ui.chain.underlying import underlying_of

__all__ = [
    "OPTION_KEYS",
    "PRICE_SIDES",
    "REFRESH_MS",
    "BasketLegRow",
    "BasketModel",
    "BasketPanel",
    "ChainCell",
    "ChainModel",
    "OptionChainPanel",
    "OptionsUi",
    "underlying_of",
]
