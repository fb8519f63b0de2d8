"""The bundled table of MCX/CDS/BCD contract multipliers (resources/contract_multipliers.toml),
read once: Kite's instruments dump has no multiplier, and these contracts are traded in
lots, so P&L, order value and margin need it (see domain/contracts.py)."""

from __future__ import annotations

import functools
import tomllib

from desktop_oms.domain.contracts import (
    CONTRACTS_FILE,
    ContractMultipliers,
    parse_contract_multipliers,
)
from desktop_oms.infra.resources import resource_path


@functools.cache
def bundled_contract_multipliers() -> ContractMultipliers:
    """The bundled table (ContractTableError or FileNotFoundError if it is broken)."""
    path = resource_path(CONTRACTS_FILE)
    with path.open("rb") as stream:
        document = tomllib.load(stream)
    return parse_contract_multipliers(document, str(path))


__all__ = ["bundled_contract_multipliers"]
