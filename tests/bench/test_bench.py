"""The benchmark suite as one test (deselected by default: `addopts = -m 'not ... bench'`).

    uv run pytest tests/bench -m bench -s     # same as `uv run python -m tests.bench`

Honours OMS_BENCH_SCALE / OMS_BENCH_RUNS; fails when a target is missed.
"""

from __future__ import annotations

import pytest


@pytest.mark.bench
def test_benchmark_targets():
    from tests.bench.runner import main

    assert main([]) == 0, (
        "a benchmark target was missed (see the table above and bench-results.json)"
    )
