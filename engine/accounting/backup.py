"""How each ledger backend is backed up.

SQLite is copied by the engine itself with SQLite's online backup API (a consistent
copy while it keeps writing; `SqliteLedger.backup`), or straight from the file when no
engine has it open (`engine.ledger.sqlite.backup_file`). PostgreSQL is the operator's
`pg_dump`: the engine never holds superuser rights or the dump tools, so it says exactly
which command to run, with the password masked (PGPASSWORD or ~/.pgpass supplies it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.config import REDACTED, redact_text

_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")

PG_PASSWORD_NOTE = (
    "the password is masked: set PGPASSWORD or use ~/.pgpass rather than typing it on a "
    "command line; restore with `pg_restore --dbname=DSN FILE`"
)


@runtime_checkable
class OnlineBackup(Protocol):
    """A ledger that can copy itself while open (SQLite)."""

    async def backup(self, dest: Path) -> None: ...


def mask_password(dsn: str) -> str:
    """The DSN with its password replaced by *** (in user:pass@ and in ?password=)."""
    return _QUERY_PASSWORD.sub(rf"\g<1>{REDACTED}", redact_text(dsn))


def pg_dump_command(dsn: str, schema: str, dest: str) -> str:
    """The pg_dump line for the ledger's schema: custom format (compressed, restorable
    table by table with pg_restore), quoted for a POSIX shell."""
    return shlex.join(
        [
            "pg_dump",
            f"--dbname={mask_password(dsn)}",
            f"--schema={schema}",
            "--format=custom",
            f"--file={dest}",
        ]
    )
