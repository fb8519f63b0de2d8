"""Logging: a rotating file in the data dir's logs folder, stderr for warnings.

Times in the log are IST (as everywhere in the app), whatever the machine's zone, so a
log line and the blotter row it explains show the same clock.

Calling it again (another data dir in the same process) moves the file handler to the new
folder instead of leaving it writing to the old one; secrets are redacted either way.
"""

from __future__ import annotations

import logging
import logging.handlers
from datetime import datetime
from pathlib import Path

from desktop_oms.infra.clock import IST
from desktop_oms.infra.redaction import install_redaction

_FORMAT = "%(asctime)s IST %(levelname)s %(name)s: %(message)s"


def _ist_time(seconds: float):
    """logging's converter (a time.struct_time) in IST instead of the machine's zone."""
    return datetime.fromtimestamp(seconds, IST).timetuple()


def log_formatter() -> logging.Formatter:
    formatter = logging.Formatter(_FORMAT)
    formatter.converter = _ist_time
    return formatter


def setup_logging(log_dir: Path | None, level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    formatter = log_formatter()
    if not any(getattr(h, "_oms", None) == "stderr" for h in root.handlers):
        stderr = logging.StreamHandler()
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(formatter)
        stderr._oms = "stderr"
        root.addHandler(stderr)
    if log_dir is not None:
        target = (Path(log_dir) / "desktop-oms.log").resolve()
        current = [h for h in root.handlers if getattr(h, "_oms", None) == "file"]
        if not any(Path(h.baseFilename) == target for h in current):
            for old in current:
                root.removeHandler(old)
                old.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                target, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
            )
            handler.setFormatter(formatter)
            handler._oms = "file"
            root.addHandler(handler)
    install_redaction(root)
