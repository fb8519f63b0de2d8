"""Runs one benchmark in its own process: python -m tests.bench.worker NAME OUT_JSON."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import time
import traceback


def main() -> int:
    name, out_path = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.CRITICAL)
    t = time.perf_counter()
    try:
        module = importlib.import_module(f"tests.bench.bench_{name}")
        skip = getattr(module, "skip_reason", lambda: None)()
        if skip:
            payload = {"ok": True, "skipped": skip}
        else:
            payload = {"ok": True, "result": module.run()}
    except Exception:  # noqa: BLE001 - reported in the table
        payload = {"ok": False, "error": traceback.format_exc()[-4000:]}
    payload["seconds"] = time.perf_counter() - t
    with open(out_path, "w") as fh:
        json.dump(payload, fh, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
