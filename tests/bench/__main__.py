"""python -m tests.bench: run the benchmark suite (see tests/bench/runner.py, README.md)."""

import sys

from tests.bench.runner import main

sys.exit(main())
