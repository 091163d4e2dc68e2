"""The PostgreSQL ledger goes away (the engine's role may no longer log in): the
checklist fails on the database, triage says trading waits behind the
ledger_unavailable guard with the log's error pattern, and the daily report names the
sources that did not answer."""

from __future__ import annotations

from tests.accounting.conftest import PgLedger, cli_json, pg_ledger  # noqa: F401  (fixture)
from tests.arbctl.runbook.conftest import HEALTHY, by_name, keys, start, wait_for_trades
from tests.conftest import wait_until
from tests.guards.conftest import rpc


def test_an_unreachable_ledger_fails_the_checklist_and_is_triaged(
    pg_ledger: PgLedger,  # noqa: F811
) -> None:
    engine = start(HEALTHY + pg_ledger.toml())
    try:
        wait_for_trades(engine, 5)
        pg_ledger.cut_off()
        assert wait_until(lambda: not rpc(engine, "status")["ledger"]["ok"], 30.0)

        code, doc = cli_json(engine, "checklist", "morning")
        checks = by_name(doc)
        assert (
            checks["ledger"]["status"] == "FAIL" and "postgres DOWN" in checks["ledger"]["evidence"]
        )
        assert "Database Connection Issues" in checks["ledger"]["next_step"]
        assert checks["health"]["status"] == "FAIL" and checks["balances"]["status"] == "FAIL"
        assert checks["engine"]["status"] == "PASS" and code == 2

        code, doc = cli_json(engine, "triage")
        ledger = keys(doc)["ledger_down"]
        assert ledger["severity"] == "P1" and code == 2
        evidence = "\n".join(ledger["evidence"])
        assert "rows kept in memory" in evidence
        assert "arbctl.ledger: ledger unavailable" in evidence  # the top ERROR pattern

        code, doc = cli_json(engine, "report", "daily")
        assert code == 1 and any(gap.startswith("pnl:") for gap in doc["gaps"])
        assert doc["errors"]["count"] >= 1
    finally:
        pg_ledger.restore()
        engine.cleanup()
