"""Engine logging: JSON lines to a rotating file for tools, plain lines on stderr for people.

Every record passes the scrubber (engine/redaction.py) that removes registered secrets
(the signing key in every spelling) and credentials in URLs/DSNs, so no code path can
leak a key through a log line or an exception's traceback.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path

from engine.redaction import scrub

LOG_FILE = "engine.log"


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = scrub(message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 6),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        return json.dumps(entry, default=str)


def setup(state_dir: Path, level: str, max_bytes: int, backups: int) -> Path:
    log_dir = state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    scrubber = _ScrubFilter()

    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    file_handler.setFormatter(JsonFormatter())
    file_handler.addFilter(scrubber)
    root.addHandler(file_handler)

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    console.addFilter(scrubber)
    root.addHandler(console)
    for noisy in ("asyncio", "web3", "urllib3", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
