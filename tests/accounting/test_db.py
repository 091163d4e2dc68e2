"""`arbctl db backup` and `arbctl db cleanup` on a real engine's SQLite ledger."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.accounting.conftest import EngineMaker, cli_json, wait_for_trading
from tests.conftest import EngineHandle
from tests.guards.conftest import rpc, toml_table

DAY = 86_400


def trade_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in conn.execute("SELECT id FROM trades")}
    finally:
        conn.close()


def test_backup_copies_the_live_ledger_and_a_stopped_ones_file(busy_engine: EngineMaker) -> None:
    engine = busy_engine()
    wait_for_trading(engine, trades=40, reverted=5)
    online = engine.dir / "backups" / "online.sqlite3"

    code, data = cli_json(engine, "db", "backup", str(online))

    assert code == 0, data
    assert data == {"backend": "sqlite", "path": str(online), "bytes": online.stat().st_size}
    assert online.stat().st_mode & 0o077 == 0  # as private as the ledger itself
    copied = trade_ids(online)
    assert len(copied) >= 40
    assert not list(online.parent.glob("*partial*")) and not list(online.parent.glob("*-wal"))
    audit = rpc(engine, "audit", {"limit": 20})["entries"]
    assert any(e["action"] == "db.backup" and e["params"]["path"] == str(online) for e in audit)

    engine.stop()
    offline = engine.dir / "backups" / "offline.sqlite3"
    code, data = cli_json(engine, "db", "backup", str(offline))

    assert code == 0, data
    assert data["offline"] is True
    assert copied <= trade_ids(offline) == trade_ids(engine.state_dir / "ledger.sqlite3")


def add_snapshot(ledger: Path, session: str, age_days: float, status_: str) -> None:
    conn = sqlite3.connect(ledger, timeout=10.0)
    try:
        with conn:
            conn.execute(
                "INSERT INTO session_snapshots (session_id, ts, kind, status, state) "
                "VALUES (?, ?, 'periodic', ?, '{}')",
                (session, time.time() - age_days * DAY, status_),
            )
    finally:
        conn.close()


def sessions(ledger: Path) -> set[str]:
    conn = sqlite3.connect(ledger, timeout=10.0)
    try:
        return {row[0] for row in conn.execute("SELECT session_id FROM session_snapshots")}
    finally:
        conn.close()


def test_cleanup_deletes_only_old_snapshots_of_stopped_sessions(busy_engine: EngineMaker) -> None:
    engine = busy_engine()
    ledger = engine.state_dir / "ledger.sqlite3"
    add_snapshot(ledger, "old-stopped", 40, "running")
    add_snapshot(ledger, "old-stopped", 40, "stopped")  # stopped cleanly 40 days ago
    add_snapshot(ledger, "old-crashed", 40, "running")  # never stopped: kept for post-mortems
    add_snapshot(ledger, "recent-stopped", 5, "stopped")
    future = engine.cli("db", "cleanup", "--older-than", str(time.time() + DAY), "--json")
    assert future.returncode == 1 and "past" in json.loads(future.stdout)["error"]["message"]

    code, data = cli_json(engine, "db", "cleanup", "--older-than", "30d")

    assert code == 0, data
    assert data["deleted"] == 2 and data["backend"] == "sqlite"
    assert {"old-crashed", "recent-stopped"} <= sessions(ledger)
    assert "old-stopped" not in sessions(ledger)
    audit = rpc(engine, "audit", {"limit": 20})["entries"]
    assert any(e["action"] == "db.cleanup" and e["params"]["deleted"] == 2 for e in audit)


def test_backup_without_an_engine_prints_pg_dump_with_the_password_masked(
    no_engine: EngineHandle,
) -> None:
    dsn = "postgresql://arb:hunter2@db.internal:5432/ledger?sslmode=require"
    config = no_engine.dir / "pg.toml"
    config.write_text(
        toml_table("ledger", {"backend": "postgres", "dsn": dsn, "schema": "arb ledger"})
    )

    result = no_engine.cli("db", "backup", "/srv/backups/ledger.dump", "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "pg_dump '--dbname=postgresql://arb:***@db.internal:5432/ledger?sslmode=require' "
        "'--schema=arb ledger' --format=custom --file=/srv/backups/ledger.dump"
    )
    assert "hunter2" not in result.stdout + result.stderr
    assert "PGPASSWORD" in result.stderr
