"""Logging: a rotating file in the data dir's logs folder, stderr for warnings."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path


def setup_logging(log_dir: Path | None, level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not any(getattr(h, "_oms", False) for h in root.handlers):
        stderr = logging.StreamHandler()
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(formatter)
        stderr._oms = True
        root.addHandler(stderr)
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                log_dir / "desktop-oms.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
            )
            handler.setFormatter(formatter)
            handler._oms = True
            root.addHandler(handler)
    try:
        from .credentials import install_redaction

        install_redaction(root)
    except ImportError:  # pragma: no cover - credentials module arrives with the Kite adapter
        pass
