"""Kite's wire format -> domain values, as pure functions (no I/O, no client):
values.py (IST timestamps, numbers, ids, enums, statuses, order tags), reports.py (order,
trade, position, quote and instrument rows -> reports), ticks.py (binary tick packets ->
`Tick`). A row the OMS cannot represent raises `UnsupportedKiteRow`, never guesses."""
