"""The kill-switch button: a quick click never engages; holding engages exactly once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_oms.ui.risk.kill_switch_button import KillSwitchButton, KillSwitchState

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def button(qtbot):
    b = KillSwitchButton(hold_ms=400, confirm_window_ms=500)
    qtbot.addWidget(b)
    b.show()
    qtbot.waitExposed(b)
    return b


def count(button):
    hits = []
    button.engageRequested.connect(lambda: hits.append(1))
    return hits


def test_object_name_and_armed_text(button):
    assert button.objectName() == "killSwitchButton"
    assert button.state is KillSwitchState.ARMED
    assert "ARMED" in button.text() and "hold" in button.text()
    assert button.property("state") == "ARMED"


def test_quick_click_does_not_engage_and_says_hold(qtbot, button):
    hits = count(button)
    qtbot.mouseClick(button, LEFT)
    qtbot.mouseDClick(button, LEFT)
    qtbot.wait(600)
    assert hits == []
    assert button.state is KillSwitchState.ARMED
    assert "HOLD" in button.text()


def test_release_before_the_hold_time_does_not_engage(qtbot, button):
    hits = count(button)
    qtbot.mousePress(button, LEFT)
    qtbot.wait(200)
    assert button.holding and 0 < button.hold_fraction < 1
    qtbot.mouseRelease(button, LEFT)
    qtbot.wait(400)
    assert hits == [] and not button.holding


def test_holding_engages_exactly_once(qtbot, button):
    hits = count(button)
    qtbot.mousePress(button, LEFT)
    with qtbot.waitSignal(button.engageRequested, timeout=2000):
        pass
    qtbot.wait(500)  # still held: no second emission
    qtbot.mouseRelease(button, LEFT)
    qtbot.wait(100)
    assert hits == [1]
    assert button.state is KillSwitchState.ENGAGING


def test_space_held_on_the_focused_button_engages(qtbot, button):
    hits = count(button)
    button.setFocus()
    qtbot.keyPress(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: hits == [1], timeout=2000)
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    assert hits == [1]


def test_keyboard_shortcut_needs_a_second_press(qtbot, button):
    hits = count(button)
    assert button.keyboard_engage() is False
    assert "AGAIN" in button.text() and hits == []
    assert button.keyboard_engage() is True
    assert hits == [1]


def test_keyboard_confirmation_expires(qtbot, button):
    hits = count(button)
    button.keyboard_engage()
    qtbot.wait(700)
    assert button.keyboard_engage() is False
    assert hits == []


def test_states_and_progress_text(qtbot, button):
    hits = count(button)
    button.set_state(KillSwitchState.ENGAGING, "cancelled 12/14, flattened 0/3")
    assert "ENGAGING" in button.text() and "cancelled 12/14" in button.text()
    button.set_progress_text("cancelled 14/14, flattened 3/3")
    button.set_state("ENGAGED")
    assert "ENGAGED" in button.text() and "flattened 3/3" in button.text()
    assert button.property("state") == "ENGAGED"
    qtbot.mousePress(button, LEFT)  # engaged: holding again does nothing
    qtbot.wait(600)
    qtbot.mouseRelease(button, LEFT)
    assert hits == []
    button.set_state(KillSwitchState.ARMED)
    assert "ARMED" in button.text() and "flattened" not in button.text()
