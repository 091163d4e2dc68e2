"""Choose the ledger backend from the config: the one place that knows both exist.

`create_store` only builds the object (no I/O), for callers that open it themselves;
`open_store` builds and opens it (connect, migrate), which is what the daemon wants.
Each backend is imported only when chosen: an embedded engine never loads asyncpg.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import LedgerSection
from engine.ledger.store import LedgerStore

DEFAULT_SQLITE_NAME = "ledger.sqlite3"


def sqlite_path(config: LedgerSection, state_dir: Path) -> Path:
    """`ledger.path`, or <state_dir>/ledger.sqlite3. A relative path is taken relative to
    the state directory, not the daemon's working directory (which an operator does not
    control when the engine runs under systemd)."""
    if not config.path:
        return state_dir / DEFAULT_SQLITE_NAME
    path = Path(config.path).expanduser()
    return path if path.is_absolute() else state_dir / path


def create_store(config: LedgerSection, state_dir: Path) -> LedgerStore:
    """The configured backend, not yet opened (`engine.config.load` checked the DSN)."""
    if config.backend == "postgres":
        from engine.ledger.postgres import PostgresLedger

        return PostgresLedger(config.dsn, config.schema or "public")
    from engine.ledger.sqlite import SqliteLedger

    return SqliteLedger(sqlite_path(config, state_dir))


async def open_store(config: LedgerSection, state_dir: Path) -> LedgerStore:
    """The configured backend, connected and migrated; raises LedgerUnavailable."""
    store = create_store(config, state_dir)
    await store.open()
    return store
