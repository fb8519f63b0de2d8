"""The options hotkeys' settings (issue 16): saved and read back, bad values refused."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from desktop_oms.config import Settings, SettingsError


def test_option_hotkey_settings_round_trip_through_the_file(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        atm_strike_offset=2,
        atm_lots=3,
        option_stop_pct="25",
        option_target_pct=Decimal("50"),
    )
    settings.save()
    data = tomllib.loads(settings.settings_path.read_text())
    assert data["atm_strike_offset"] == 2 and data["option_stop_pct"] == "25"
    loaded, warning = Settings.load(tmp_path)
    assert warning is None
    assert (loaded.atm_strike_offset, loaded.atm_lots) == (2, 3)
    assert loaded.option_stop_pct == Decimal("25") and loaded.option_target_pct == Decimal("50")


def test_defaults_one_lot_at_the_money_stop_20_target_40(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert (s.atm_strike_offset, s.atm_lots) == (0, 1)
    assert (s.option_stop_pct, s.option_target_pct) == (Decimal("20"), Decimal("40"))


@pytest.mark.parametrize(
    "changes",
    [
        {"atm_lots": 0},
        {"atm_lots": True},
        {"atm_strike_offset": 1.5},
        {"atm_strike_offset": 99},
        {"option_stop_pct": "100"},
        {"option_stop_pct": "-1"},
        {"option_target_pct": "abc"},
    ],
)
def test_bad_option_hotkey_settings_are_refused(tmp_path, changes):
    with pytest.raises(SettingsError):
        Settings(data_dir=tmp_path, **changes)
