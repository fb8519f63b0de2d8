"""Index options: rules, tradingsymbols, pricing, chains and freeze-quantity slicing.

Entry points:
- `FnoRules.bundled()` - the dated rules file (lot size, freeze quantity, strike step,
  expiry days); `rules.for_underlying("NIFTY", day)` is the revision in force that day.
- `option_symbol` / `future_symbol` / `parse_symbol` and `ExpiryCalendar` - Kite
  tradingsymbols (weekly NIFTY26D0826400CE, monthly NIFTY26DEC26400CE, NIFTY26DECFUT).
- `option_chain` / `paper_contracts` / `price_option_chain` - paper-mode chains and quotes.
- `implied_vol` / `black76_greeks` / `analyse` - vectorised IV and Greeks of a whole chain.
- `plan_slices` - split a quantity into orders each <= the freeze quantity, whole lots.
- `OptionChainService` - the chain the window shows (rows of strikes with LTP, change,
  bid/ask, volume, OI, IV and Greeks; ATM, spot/future, days to expiry, ATM IV, PCR) from
  the catalogue and the last ticks; `expires_today` flags a contract expiring today.
- `paper_market` / `PaperDerivatives` - paper mode's listing (indices, futures, chains)
  and the quotes of its derivatives, derived from each index's spot; `apply_fno_rules`
  adds the rules' freeze quantity and index to a broker's instruments (Kite's dump).

Invariants: money crosses the boundary as Decimal (numerics inside are float64 arrays);
quantities are units, whole lots; the only I/O is the rules loader reading its file; no Qt.
Paper quotes are free of static arbitrage at bid/ask; LTPs within half a tick of the model.

Imports are lazy (PEP 562): symbols, rules and slicing are on the order path at start-up;
the pricing modules bring numpy, which the window does not need before it is up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_oms.marketdata.options.chain import (
        CALL,
        PUT,
        ChainRow,
        OptionChain,
        OptionContract,
        atm_strike,
        future_contracts,
        index_instrument,
        listed_expiries,
        option_chain,
        paper_contracts,
        paper_token,
        price_option_chain,
        strikes_around,
    )
    from desktop_oms.marketdata.options.paper import PaperDerivatives, apply_fno_rules, paper_market
    from desktop_oms.marketdata.options.pricing import (
        ChainPrices,
        Greeks,
        ImpliedVols,
        IVStatus,
        OptionAnalytics,
        Quote,
        Smile,
        SpreadModel,
        analyse,
        atm_vol_after_move,
        black76_greeks,
        black76_price,
        forward_price,
        implied_vol,
        price_chain,
        years_to_expiry,
    )
    from desktop_oms.marketdata.options.rules import (
        FnoRules,
        FnoRulesError,
        RulesRevision,
        UnderlyingRules,
        UnknownUnderlying,
    )
    from desktop_oms.marketdata.options.slicing import (
        MAX_QUANTITY,
        ORDER_SHAPE,
        SlicePlan,
        SliceRefused,
        max_slice_quantity,
        plan_slices,
    )
    from desktop_oms.marketdata.options.snapshot import (
        ChainSnapshot,
        OptionChainService,
        OptionQuote,
        expires_today,
    )
    from desktop_oms.marketdata.options.symbols import (
        Expiry,
        ExpiryCalendar,
        ParsedSymbol,
        SymbolError,
        future_symbol,
        option_symbol,
        parse_symbol,
    )

_WHERE = {
    "CALL": "chain",
    "ChainPrices": "pricing",
    "ChainRow": "chain",
    "ChainSnapshot": "snapshot",
    "Expiry": "symbols",
    "ExpiryCalendar": "symbols",
    "FnoRules": "rules",
    "FnoRulesError": "rules",
    "Greeks": "pricing",
    "IVStatus": "pricing",
    "ImpliedVols": "pricing",
    "MAX_QUANTITY": "slicing",
    "ORDER_SHAPE": "slicing",
    "OptionAnalytics": "pricing",
    "OptionChain": "chain",
    "OptionChainService": "snapshot",
    "OptionContract": "chain",
    "OptionQuote": "snapshot",
    "PUT": "chain",
    "PaperDerivatives": "paper",
    "ParsedSymbol": "symbols",
    "Quote": "pricing",
    "RulesRevision": "rules",
    "SlicePlan": "slicing",
    "SliceRefused": "slicing",
    "Smile": "pricing",
    "SpreadModel": "pricing",
    "SymbolError": "symbols",
    "UnderlyingRules": "rules",
    "UnknownUnderlying": "rules",
    "analyse": "pricing",
    "apply_fno_rules": "paper",
    "atm_strike": "chain",
    "atm_vol_after_move": "pricing",
    "black76_greeks": "pricing",
    "black76_price": "pricing",
    "expires_today": "snapshot",
    "forward_price": "pricing",
    "future_contracts": "chain",
    "future_symbol": "symbols",
    "implied_vol": "pricing",
    "index_instrument": "chain",
    "listed_expiries": "chain",
    "max_slice_quantity": "slicing",
    "option_chain": "chain",
    "option_symbol": "symbols",
    "paper_contracts": "chain",
    "paper_market": "paper",
    "paper_token": "chain",
    "parse_symbol": "symbols",
    "plan_slices": "slicing",
    "price_chain": "pricing",
    "price_option_chain": "chain",
    "strikes_around": "chain",
    "years_to_expiry": "pricing",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CALL",
    "MAX_QUANTITY",
    "ORDER_SHAPE",
    "PUT",
    "ChainPrices",
    "ChainRow",
    "ChainSnapshot",
    "Expiry",
    "ExpiryCalendar",
    "FnoRules",
    "FnoRulesError",
    "Greeks",
    "IVStatus",
    "ImpliedVols",
    "OptionAnalytics",
    "OptionChain",
    "OptionChainService",
    "OptionContract",
    "OptionQuote",
    "PaperDerivatives",
    "ParsedSymbol",
    "Quote",
    "RulesRevision",
    "SlicePlan",
    "SliceRefused",
    "Smile",
    "SpreadModel",
    "SymbolError",
    "UnderlyingRules",
    "UnknownUnderlying",
    "analyse",
    "apply_fno_rules",
    "expires_today",
    "atm_strike",
    "atm_vol_after_move",
    "black76_greeks",
    "black76_price",
    "forward_price",
    "future_contracts",
    "future_symbol",
    "implied_vol",
    "index_instrument",
    "listed_expiries",
    "max_slice_quantity",
    "option_chain",
    "option_symbol",
    "paper_contracts",
    "paper_market",
    "paper_token",
    "parse_symbol",
    "plan_slices",
    "price_chain",
    "price_option_chain",
    "strikes_around",
    "years_to_expiry",
]
