"""Settings: paths (platformdirs), broker choice, risk limits; stored as TOML in the data dir.

A corrupt or hand-edited settings file never stops the app and is never overwritten:
it is kept aside as settings.toml.bad and defaults are used, with a clear warning.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path

import tomli_w
from platformdirs import user_data_dir

from desktop_oms.domain.money import to_decimal
from desktop_oms.infra.clock import file_stamp
from desktop_oms.risk.limits import RiskLimits

log = logging.getLogger(__name__)

APP_NAME = "desktop-oms"
BROKERS = ("paper", "kite")


def default_data_dir() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False))


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    broker: str = "paper"
    risk: RiskLimits = field(default_factory=RiskLimits)
    simulate_market: bool = True
    market_seed: int | None = None
    tick_interval_s: float = 0.25
    monitor_interval_s: float = 1.0
    reconcile_interval_s: float = 30.0
    confirm_above_value: Decimal = Decimal("200000")
    db_synchronous: str = "FULL"
    kite_api_key: str | None = None
    kite_root: str | None = (
        None  # Kite API address; None = Kite's own (tests point it at a local server)
    )
    kite_ticker_root: str | None = None
    kite_redirect_port: int = 5010  # the app's registered redirect: http://127.0.0.1:<port>/
    # Options hotkeys (buy ATM call / put): strikes away from the ATM (+: out of the money),
    # lots, and the stop-loss / target attached, in % of the premium paid.
    atm_strike_offset: int = 0
    atm_lots: int = 1
    option_stop_pct: Decimal = Decimal("20")
    option_target_pct: Decimal = Decimal("40")

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.broker not in BROKERS:
            raise SettingsError(f"broker must be one of {', '.join(BROKERS)}, got {self.broker!r}")
        if not isinstance(self.risk, RiskLimits):
            raise SettingsError("risk must be RiskLimits")
        for name in ("tick_interval_s", "monitor_interval_s", "reconcile_interval_s"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0 < value < 86400)
            ):
                raise SettingsError(f"{name} must be a positive number of seconds, got {value!r}")
        if not isinstance(self.simulate_market, bool):
            raise SettingsError(
                f"simulate_market must be true or false, got {self.simulate_market!r}"
            )
        seed = self.market_seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise SettingsError(f"market_seed must be a whole number, got {seed!r}")
        for name in ("kite_api_key", "kite_root", "kite_ticker_root"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise SettingsError(f"{name} must be text, got {value!r}")
        if not isinstance(self.db_synchronous, str):
            raise SettingsError(
                f"db_synchronous must be FULL, NORMAL or EXTRA, got {self.db_synchronous!r}"
            )
        try:
            confirm = to_decimal(self.confirm_above_value, "confirm above value")
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        if confirm < 0:
            raise SettingsError(f"confirm_above_value cannot be negative, got {confirm}")
        object.__setattr__(self, "confirm_above_value", confirm)
        port = self.kite_redirect_port
        if isinstance(port, bool) or not isinstance(port, int) or not (1024 <= port <= 65535):
            raise SettingsError(
                f"kite_redirect_port must be a port number 1024-65535, got {port!r}"
            )
        if self.db_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise SettingsError("db_synchronous must be FULL, NORMAL or EXTRA")
        self._check_option_hotkeys()

    def _check_option_hotkeys(self) -> None:
        offset, lots = self.atm_strike_offset, self.atm_lots
        if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > 50:
            raise SettingsError(f"atm_strike_offset must be a whole number -50..50, got {offset!r}")
        if isinstance(lots, bool) or not isinstance(lots, int) or not (1 <= lots <= 100):
            raise SettingsError(f"atm_lots must be a whole number 1..100, got {lots!r}")
        for name in ("option_stop_pct", "option_target_pct"):
            try:
                value = to_decimal(getattr(self, name), name)
            except ValueError as exc:
                raise SettingsError(str(exc)) from exc
            if not (0 <= value < 100 if name == "option_stop_pct" else 0 <= value <= 1000):
                raise SettingsError(f"{name} out of range, got {value}")
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ paths
    @property
    def db_path(self) -> Path:
        return self.data_dir / "oms.db"

    @property
    def settings_path(self) -> Path:
        return self.data_dir / "settings.toml"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def paper_state_path(self) -> Path:
        return self.data_dir / "paper_broker.jsonl"

    @property
    def ui_state_path(self) -> Path:
        return self.data_dir / "window.ini"

    def ensure_dirs(self) -> None:
        """Create the data and log folders (owner-only); existing folders are left as they are."""
        for path in (self.data_dir, self.log_dir):
            if path.is_dir():
                continue
            path.mkdir(parents=True, exist_ok=True)
            if sys.platform != "win32":
                os.chmod(path, 0o700)

    # ------------------------------------------------------------------ persistence
    def to_toml(self) -> dict:
        data = {
            "broker": self.broker,
            "simulate_market": self.simulate_market,
            "tick_interval_s": self.tick_interval_s,
            "monitor_interval_s": self.monitor_interval_s,
            "reconcile_interval_s": self.reconcile_interval_s,
            "confirm_above_value": str(self.confirm_above_value),
            "db_synchronous": self.db_synchronous,
            "risk": self.risk.to_dict(),
        }
        if self.market_seed is not None:
            data["market_seed"] = self.market_seed
        if self.kite_api_key:
            data["kite_api_key"] = self.kite_api_key
        for name in ("kite_root", "kite_ticker_root"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["kite_redirect_port"] = self.kite_redirect_port
        data["atm_strike_offset"] = self.atm_strike_offset
        data["atm_lots"] = self.atm_lots
        data["option_stop_pct"] = str(self.option_stop_pct)
        data["option_target_pct"] = str(self.option_target_pct)
        return data

    def save(self) -> None:
        self.ensure_dirs()
        tmp = self.settings_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(self.to_toml(), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.settings_path)

    @classmethod
    def from_toml(cls, data: dict, *, data_dir: Path) -> Settings:
        if not isinstance(data, dict):
            raise SettingsError("settings must be a table")
        known = {f.name for f in fields(cls)} - {"data_dir", "risk"}
        values = {}
        for key, value in data.items():
            if key == "risk":
                if not isinstance(value, dict):
                    raise SettingsError("[risk] must be a table")
                try:
                    values["risk"] = RiskLimits.from_dict(value)
                except (TypeError, ValueError) as exc:
                    raise SettingsError(f"[risk]: {exc}") from exc
            elif key in known:
                values[key] = value
            else:
                raise SettingsError(f"unknown setting {key!r}")
        try:
            return cls(data_dir=data_dir, **values)
        except SettingsError:
            raise
        except (TypeError, ValueError) as exc:
            raise SettingsError(str(exc)) from exc

    @classmethod
    def load(cls, data_dir: Path | None = None, **overrides) -> tuple[Settings, str | None]:
        """Settings from data_dir/settings.toml (+ overrides). Returns (settings, warning)."""
        data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        base = cls(data_dir=data_dir)
        warning = None
        path = base.settings_path
        if path.exists():
            try:
                with path.open("rb") as fh:
                    base = cls.from_toml(tomllib.load(fh), data_dir=data_dir)
            except (OSError, tomllib.TOMLDecodeError, SettingsError, UnicodeDecodeError) as exc:
                stamp = file_stamp(seconds=True)  # IST
                kept = path.with_name(f"settings.toml.bad-{stamp}")
                try:
                    os.replace(path, kept)
                except OSError:
                    kept = path
                warning = f"Settings file {path} could not be used ({exc}); defaults are in effect. The file was kept as {kept.name}."
                log.warning(warning)
        return (replace(base, **overrides) if overrides else base), warning
