"""Reliability suites: crash recovery, faults, bad input, security (issue 6)."""
